# Stand-in for the parts of nixpkgs' `lib` that nix/ uses, plus a small `evalModules`. There is no
# nixpkgs on the test machine, so this is written for the tests: small and strict. Anything not
# provided is an evaluation error, so nix/ cannot quietly depend on something untested.
#
# The module evaluator follows the NixOS rules that matter here:
#  - modules are functions of { config, lib, pkgs, ... } or attribute sets, full form
#    ({ imports, options, config }) or shorthand (everything is config), deduplicated by file;
#  - mkIf / mkMerge / mkOverride are pushed down to the options without evaluating conditions, so
#    `config = mkIf cfg.enable { ... }` works; conditions are evaluated when an option is merged;
#  - defining an option nobody declared is an error, so is declaring one twice;
#  - definitions with the best priority win (default < mkDefault < plain < mkForce) and are
#    type-checked, then merged by type (lists concatenate, sets merge per key, scalars must agree);
#  - a readOnly option may be defined only once;
#  - mkOrder / mkBefore / mkAfter sort the winning definitions before a list is concatenated (as
#    lib/modules.nix sortProperties does: default order 1000, mkBefore 500, mkAfter 1500, stable).
# The helpers below lib.* model nixpkgs' lib/strings.nix, lib/attrsets.nix, lib/meta.nix and
# lib/options.nix (read in NixOS/nixpkgs; see the comments at each).
let
  inherit (builtins) isAttrs isList isString isBool isInt isPath isFunction all any head length
    concatLists concatMap concatStringsSep filter foldl' attrNames listToAttrs mapAttrs elem
    replaceStrings substring typeOf toJSON fromJSON readFile genList elemAt zipAttrsWith
    genericClosure removeAttrs;

  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  imap = f: list: genList (i: f i (elemAt list i)) (length list);
  showLoc = concatStringsSep ".";

  ## Properties

  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOrder = priority: content: { _type = "order"; inherit priority content; };

  propertyOf = v: if isAttrs v then v._type or null else null;

  # A definition's value as [ { value, priority, order } ]: mkIf conditions evaluated, mkMerge expanded.
  discharge = priority: v: dischargeOrdered priority 1000 v;
  dischargeOrdered = priority: order: v:
    let t = propertyOf v; in
    if t == "merge" then concatMap (dischargeOrdered priority order) v.contents
    else if t == "if" then
      (if !isBool v.condition then throw "mkIf: condition is a ${typeOf v.condition}, not a boolean"
      else if v.condition then dischargeOrdered priority order v.content else [ ])
    else if t == "override" then dischargeOrdered v.priority order v.content
    else if t == "order" then dischargeOrdered priority v.priority v.content
    else [ { value = v; inherit priority order; } ];

  # Stable sort by `order` (insertion sort; definition lists are short).
  sortByOrder = foldl' (acc: d:
    let
      before = filter (x: x.order <= d.order) acc;
      after = filter (x: x.order > d.order) acc;
    in before ++ [ d ] ++ after) [ ];

  # The properties of an attribute-set definition moved onto its attributes, conditions untouched:
  # name -> [ value ].
  pushDown = v:
    let t = propertyOf v; in
    if t == "merge" then zipAttrsWith (_: concatLists) (map pushDown v.contents)
    else if t == "if" then mapAttrs (_: map (mkIf v.condition)) (pushDown v.content)
    else if t == "override" then mapAttrs (_: map (mkOverride v.priority)) (pushDown v.content)
    else if t == "order" then mapAttrs (_: map (mkOrder v.priority)) (pushDown v.content)
    else if isAttrs v then mapAttrs (_: x: [ x ]) v
    else throw "expected an attribute set of options, got a ${typeOf v}";

  absent = { _type = "absent"; };
  isAbsent = v: isAttrs v && (v._type or null) == "absent";

  # [ { file, value } ] with properties -> the merged value, or `absent` if nothing is left.
  resolve = loc: type: defs:
    let
      ds = concatMap (d: map (x: x // { inherit (d) file; }) (discharge 100 d.value)) defs;
      best = foldl' (m: d: if d.priority < m then d.priority else m) 9999 ds;
      winners = sortByOrder (filter (d: d.priority == best) ds);
      bad = filter (d: !type.check d.value) winners;
    in
    if length winners == 0 then absent
    else if length bad > 0 then
      throw "The option `${loc}' in ${(head bad).file} is not of type ${type.name} (got a ${typeOf (head bad).value})"
    else type.merge loc winners;

  ## Types: `check` one definition, `merge` a non-empty list of checked { file, value }.

  mkType = { name, check, merge }: { _type = "option-type"; inherit name check merge; };

  isDerivation = x: isAttrs x && (x.type or null) == "derivation";

  mergeEqual = loc: defs:
    let first = (head defs).value; in
    if all (d: d.value == first) defs then first
    else throw "The option `${loc}' has conflicting definitions in ${concatStringsSep ", " (map (d: d.file) defs)}";

  # Per-name merge of attribute-set definitions; each attribute may carry properties again.
  mergeAttrsWith = typeOf': loc: defs:
    let
      names = unique (concatMap (d: attrNames d.value) defs);
      one = n: resolve "${loc}.${n}" (typeOf' n)
        (map (d: { inherit (d) file; value = d.value.${n}; }) (filter (d: d.value ? ${n}) defs));
      merged = map (n: { name = n; value = one n; }) names;
    in
    listToAttrs (filter (x: !isAbsent x.value) merged);

  types = rec {
    str = mkType { name = "string"; check = isString; merge = mergeEqual; };
    bool = mkType { name = "boolean"; check = isBool; merge = mergeEqual; };
    int = mkType { name = "integer"; check = isInt; merge = mergeEqual; };
    enum = values: mkType { name = "one of ${builtins.concatStringsSep ", " (map toString values)}"; check = x: elem x values; merge = mergeEqual; };
    strMatching = re: mkType { name = "string matching the pattern ${re}"; check = x: isString x && builtins.match re x != null; merge = mergeEqual; };
    # As in nixpkgs: a Nix path or a string holding an absolute path.
    path = mkType {
      name = "path";
      check = x: isPath x || (isString x && substring 0 1 x == "/");
      merge = mergeEqual;
    };
    package = mkType { name = "package"; check = isDerivation; merge = mergeEqual; };
    nullOr = t: mkType {
      name = "null or ${t.name}";
      check = x: x == null || t.check x;
      merge = loc: defs:
        if all (d: d.value == null) defs then null
        else if any (d: d.value == null) defs then throw "The option `${loc}' is null in some definitions only"
        else t.merge loc defs;
    };
    listOf = t: mkType {
      name = "list of ${t.name}";
      check = x: isList x && all t.check x;
      merge = _: defs: concatMap (d: d.value) defs;
    };
    attrsOf = t: mkType {
      name = "attribute set of ${t.name}";
      check = isAttrs;
      merge = mergeAttrsWith (_: t);
    };
    # Free-form values: sets merge per key, lists concatenate, anything else must agree.
    anything = mkType {
      name = "anything";
      check = _: true;
      merge = loc: defs:
        let vs = map (d: d.value) defs; in
        if all (v: isAttrs v && !isDerivation v) vs then mergeAttrsWith (_: anything) loc defs
        else if all isList vs then concatMap (d: d.value) defs
        else mergeEqual loc defs;
    };
    # Test-only, a small cousin of submodule: a set whose keys must be among `fields`
    # (name -> type); used to declare the NixOS options nix/ defines (systemd.services etc.).
    record = name: fields: recordWith { inherit name fields; };
    # A record whose instances also get `extraDefs` (definitions NixOS itself adds to every instance,
    # e.g. the default service PATH) and whose merged value goes through `finalize loc value` (what
    # a submodule's own config computes from its options, e.g. environment.PATH from path).
    recordWith = { name, fields, extraDefs ? [ ], finalize ? (_: v: v) }: mkType {
      inherit name;
      check = v: isAttrs v && all (n: fields ? ${n}) (attrNames v);
      merge = loc: defs: finalize loc (mergeAttrsWith (n: fields.${n}) loc
        (defs ++ map (v: { file = "<nixos module system>"; value = mapAttrs (_: mkMerge) (pushDown v); }) extraDefs));
    };
  };

  mkOption = { type ? types.anything, ... }@attrs: attrs // { _type = "option"; inherit type; };
  isOption = v: isAttrs v && (v._type or null) == "option";

  ## evalModules

  evalModules = { modules, specialArgs ? { } }:
    let
      args = specialArgs // { inherit lib config options; };

      keyOf = parent: i: m: if isPath m || isString m then toString m else "${parent}#${toString i}";

      load = item:
        let
          raw = if isPath item.module || isString item.module then import item.module else item.module;
          v = if isFunction raw then raw args else raw;
          full = v ? options || v ? config;
          extra = removeAttrs v [ "imports" "options" "config" ];
        in
        if full && extra != { } then
          throw "module ${item.key} has unexpected top-level attributes ${toJSON (attrNames extra)}"
        else {
          inherit (item) key;
          imports = v.imports or [ ];
          options = v.options or { };
          config = if full then v.config or { } else removeAttrs v [ "imports" ];
        };

      loaded = map load (genericClosure {
        startSet = imap (i: m: { key = keyOf "<eval>" i m; module = m; }) modules;
        operator = item: imap (i: m: { key = keyOf item.key i m; module = m; }) (load item).imports;
      });

      mergeDecls = loc: a: b: listToAttrs (map
        (n: {
          name = n;
          value =
            if a ? ${n} && b ? ${n} then
              (if isOption a.${n} || isOption b.${n}
              then throw "The option `${showLoc (loc ++ [ n ])}' is declared more than once"
              else mergeDecls (loc ++ [ n ]) a.${n} b.${n})
            else a.${n} or b.${n};
        })
        (unique (attrNames a ++ attrNames b)));

      options = foldl' (mergeDecls [ ]) { } (map (m: m.options) loaded);

      optionValue = loc: opt: defs:
        let
          v = resolve (showLoc loc) opt.type
            (defs ++ (if opt ? default then [ { file = "<default>"; value = mkOverride 1500 opt.default; } ] else [ ]));
        in
        if (opt.readOnly or false) && length defs > 1 then
          throw "The option `${showLoc loc}' is read-only, but it is set in ${concatStringsSep ", " (map (d: d.file) defs)}"
        else if isAbsent v then throw "The option `${showLoc loc}' is used but not defined"
        else v;

      build = loc: decl: defs:
        if isOption decl then optionValue loc decl defs
        else
          let
            byName = zipAttrsWith (_: concatLists)
              (map (d: mapAttrs (_: map (value: { inherit (d) file; inherit value; })) (pushDown d.value)) defs);
            unknown = filter (n: !(decl ? ${n})) (attrNames byName);
          in
          if unknown != [ ] then
            throw "The option `${showLoc (loc ++ [ (head unknown) ])}' does not exist (set in ${concatStringsSep ", " (map (d: d.file) byName.${head unknown})})"
          else mapAttrs (n: sub: build (loc ++ [ n ]) sub (byName.${n} or [ ])) decl;

      config = build [ ] options (map (m: { file = m.key; value = m.config; }) loaded);
    in
    { inherit config options; };

  # lib/strings.nix: quoted only when it has a character outside [[:alnum:],._+:@%/-].
  escapeShellArg = arg:
    let s = toString arg; in
    if builtins.match "[[:alnum:],._+:@%/-]+" s == null then "'${replaceStrings [ "'" ] [ "'\\''" ] s}'" else s;
  isValidPosixName = name: builtins.match "[a-zA-Z_][a-zA-Z0-9_]*" name != null;

  # lib/attrsets.nix getOutput, lib/strings.nix makeSearchPath(Output) / makeBinPath.
  getOutput = output: pkg:
    if !(pkg ? outputSpecified) || !pkg.outputSpecified then pkg.${output} or pkg.out or pkg else pkg;
  makeSearchPath = subDir: paths: concatStringsSep ":" (map (p: "${toString p}/${subDir}") (filter (x: x != null) paths));
  makeSearchPathOutput = output: subDir: pkgs: makeSearchPath subDir (map (getOutput output) pkgs);

  lib = {
    inherit mkIf mkMerge mkOverride mkOrder mkOption types isDerivation evalModules;
    inherit escapeShellArg getOutput makeSearchPath makeSearchPathOutput;
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
    makeBinPath = makeSearchPathOutput "bin" "bin";
    getBin = getOutput "bin";
    # lib/meta.nix: getExe needs meta.mainProgram (nixpkgs warns and guesses without it; here it is
    # an error so nix/ never relies on the guess).
    getExe' = x: y: "${getOutput "bin" x}/bin/${y}";
    getExe = x:
      if x ? meta.mainProgram then lib.getExe' x x.meta.mainProgram
      else throw "getExe: ${x.name or "package"} has no meta.mainProgram";
    # lib/strings.nix toShellVar (strings only; nix/ passes no lists or sets).
    toShellVar = name: value:
      if !isValidPosixName name then throw "toShellVar: ${name} is not a valid shell variable name"
      else if isList value || (isAttrs value && !(value ? outPath)) then throw "toShellVar: ${name}: only strings are modelled"
      else "${name}=${escapeShellArg value}";
    # lib/options.nix mkPackageOption: default is pkgs.<name> looked up lazily (a throw naming the
    # attribute when absent), description "The <name> package to use.".
    mkPackageOption = pkgs: name: { nullable ? false, default ? name, example ? null, extraDescription ? "" }:
      let
        path = if isList default then default else [ default ];
        shown = concatStringsSep "." path;
        value = foldl' (acc: n: if acc ? ${n} then acc.${n} else throw "${shown} cannot be found in pkgs") pkgs path;
      in
      mkOption ({
        description = "The ${if isList name then lib.last name else name} package to use."
          + (if extraDescription == "" then "" else " " + extraDescription);
        type = if nullable then types.nullOr types.package else types.package;
      } // (if default != null then { default = value; defaultText = { _type = "literalExpression"; text = "pkgs.${shown}"; }; }
           else if nullable then { default = null; } else { }));
    last = list: elemAt list (length list - 1);
    versionAtLeast = a: b: builtins.compareVersions a b >= 0;
    assertMsg = pred: msg: pred || throw msg;
    removePrefix = pref: s: if lib.hasPrefix pref s then substring (builtins.stringLength pref) (builtins.stringLength s) s else s;
    optionalString = cond: s: if cond then s else "";
    concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);
    hasPrefix = pref: s: substring 0 (builtins.stringLength pref) s == pref;
    filterAttrs = pred: set: listToAttrs (concatMap (n: if pred n set.${n} then [ { name = n; value = set.${n}; } ] else [ ]) (attrNames set));
    mapAttrs' = f: set: listToAttrs (map (n: f n set.${n}) (attrNames set));
    inherit mapAttrs elem any all attrNames filter;
    mkEnableOption = what: mkOption {
      type = types.bool;
      default = false;
      description = "Whether to enable ${what}.";
    };
    literalExpression = text: { _type = "literalExpression"; inherit text; };

    escapeShellArgs = args: concatStringsSep " " (map escapeShellArg args);
    inherit concatStringsSep listToAttrs replaceStrings;
    mapAttrsToList = f: set: map (n: f n set.${n}) (attrNames set);
    nameValuePair = name: value: { inherit name value; };
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalAttrs = cond: set: if cond then set else { };
    importJSON = file: fromJSON (readFile file);

    fakeHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    licenses.agpl3Plus = { spdxId = "AGPL-3.0-or-later"; };
    licenses.gpl3Plus = { spdxId = "GPL-3.0-or-later"; };
    # No sources are built here; only package.nix's use of them is checked, lazily.
    fileset = {
      unions = list: { _type = "fileset-stub"; inherit list; };
      toSource = { root, fileset }: { _type = "source-stub"; inherit root fileset; };
    };
  };
in
lib
