# Stand-in for NixOS' `utils` module argument: systemd Exec*= quoting. Each argument becomes a
# double-quoted string; `%` (specifiers) and `$` (variable expansion) are doubled so they reach
# the program literally.
let
  quote = arg:
    let s = if builtins.isString arg || builtins.isPath arg then toString arg
            else throw "escapeSystemdExecArg: not a string: ${builtins.typeOf arg}";
    in builtins.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON s);
in
{
  escapeSystemdExecArg = quote;
  escapeSystemdExecArgs = args: builtins.concatStringsSep " " (map quote args);
}
