// Shell completion scripts generated from the commander program, so they can never drift from the CLI:
// every subcommand, every option `--help` lists, the choices of options and arguments (`--cadence`,
// `completion <shell>`) come from the program itself. Recipe names (`--recipe`, `<recipe>`) are listed by
// the shell function from `<cc-ci repo>/tests/*/recipe_meta.py`, so completing never starts node.
import type { Argument, Command, Option } from 'commander';

export type Shell = 'bash' | 'zsh';

/** What a value (of an option or a positional argument) completes to. */
export type ValueKind =
  | { kind: 'choices'; choices: string[] }
  | { kind: 'recipes' }
  | { kind: 'commands' }
  | { kind: 'dirs' }
  | { kind: 'files' }
  | { kind: 'none' };

export interface OptionSpec {
  /** `--cadence`; options with only a short flag are left out. */
  long: string;
  short: string | null;
  description: string;
  /** Null for a flag that takes no value. */
  value: ValueKind | null;
  /** What the value is called in `--help` (`<cadence>` -> cadence). */
  valueName: string | null;
  /** Given several times (`--recipe a --recipe b`). */
  repeatable: boolean;
}

export interface ArgumentSpec {
  name: string;
  description: string;
  required: boolean;
  value: ValueKind;
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  args: ArgumentSpec[];
}

export interface ProgramSpec {
  name: string;
  options: OptionSpec[];
  commands: CommandSpec[];
}

const WORD = /^[A-Za-z0-9][A-Za-z0-9._+@-]*$/;
const LONG = /^--[A-Za-z0-9][A-Za-z0-9-]*$/;

function valueKind(name: string, choices: readonly string[] | undefined, isHelpCommand: boolean): ValueKind {
  if (choices && choices.length > 0) return { kind: 'choices', choices: choices.filter((c) => WORD.test(c)) };
  if (isHelpCommand) return { kind: 'commands' };
  const n = name.toLowerCase();
  if (n === 'recipe') return { kind: 'recipes' };
  if (n === 'dir') return { kind: 'dirs' };
  if (n === 'path' || n === 'file' || n === 'rel') return { kind: 'files' };
  return { kind: 'none' };
}

function optionSpec(o: Option): OptionSpec | null {
  if (!o.long || !LONG.test(o.long)) return null;
  const takesValue = o.required || o.optional;
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? '';
  return {
    long: o.long,
    short: o.short && /^-[A-Za-z0-9]$/.test(o.short) ? o.short : null,
    description: o.description,
    // `--recipe <name>` is the one option whose value is a recipe name, whatever its value is called.
    value: takesValue ? valueKind(o.long === '--recipe' ? 'recipe' : valueName, o.argChoices, false) : null,
    valueName: takesValue ? valueName || o.long.slice(2) : null,
    repeatable: o.variadic || Array.isArray(o.defaultValue),
  };
}

function argumentSpec(a: Argument, isHelpCommand: boolean): ArgumentSpec {
  return { name: a.name(), description: a.description, required: a.required, value: valueKind(a.name(), a.argChoices, isHelpCommand) };
}

/** What the program offers, as `--help` shows it (the implicit `help` command and `--help` included). */
export function describeProgram(program: Command): ProgramSpec {
  const help = program.createHelp();
  const options = (cmd: Command) => help.visibleOptions(cmd).map(optionSpec).filter((o): o is OptionSpec => o !== null);
  const commands = help.visibleCommands(program)
    .filter((c) => WORD.test(c.name()))
    .map((c): CommandSpec => {
      const isHelpCommand = c.name() === 'help' && !program.commands.includes(c);
      return {
        name: c.name(), description: c.description(), options: options(c),
        args: c.registeredArguments.map((a) => argumentSpec(a, isHelpCommand)),
      };
    });
  return { name: program.name(), options: options(program), commands };
}

export function completionScript(program: Command, shell: Shell): string {
  const spec = describeProgram(program);
  return shell === 'bash' ? bashScript(spec) : zshScript(spec);
}

// ---------------------------------------------------------------------------------------------------------
// bash

const ident = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');

/** Groups `case` patterns by the code they run, so the generated script stays short. */
function caseArms(entries: Array<[pattern: string, code: string]>): string[] {
  const byCode = new Map<string, string[]>();
  for (const [pattern, code] of entries) byCode.set(code, [...(byCode.get(code) ?? []), pattern]);
  return [...byCode].map(([code, patterns]) => `    ${patterns.join('|')}) ${code} ;;`);
}

function bashValue(v: ValueKind, fn: string, commands: string[]): string {
  switch (v.kind) {
    case 'choices':
      return `${fn}_reply -W "${v.choices.join(' ')}" -- "$val"`;
    case 'commands':
      return `${fn}_reply -W "${commands.join(' ')}" -- "$val"`;
    case 'recipes':
      return `${fn}_recipes "$val"`;
    case 'dirs':
      return `${fn}_reply -d -- "$val"; compopt -o filenames 2>/dev/null`;
    case 'files':
      return `${fn}_reply -f -- "$val"; compopt -o filenames 2>/dev/null`;
    case 'none':
      return ':';
  }
}

function bashScript(spec: ProgramSpec): string {
  const fn = `_${ident(spec.name)}`;
  const commands = spec.commands.map((c) => c.name);
  const longs = (opts: OptionSpec[]) => opts.map((o) => o.long).join(' ');
  const valued = (opts: OptionSpec[]) => opts.filter((o) => o.value !== null).map((o) => o.long).join(' ');
  const perCommand = spec.commands.map((c) => `    ${c.name}) opts="${longs(c.options)}"; valopts="${valued(c.options)}" ;;`);
  // One arm per option (`*" --cadence"`) when it completes the same in every command, else per command.
  const valueCode = new Map<string, Array<[cmd: string, code: string]>>();
  for (const c of spec.commands) {
    for (const o of c.options) {
      if (o.value === null || o.value.kind === 'none') continue;
      valueCode.set(o.long, [...(valueCode.get(o.long) ?? []), [c.name, bashValue(o.value, fn, commands)]]);
    }
  }
  const values = caseArms(
    [...valueCode].flatMap(([long, uses]): Array<[string, string]> =>
      new Set(uses.map(([, code]) => code)).size === 1 ? [[`*" ${long}"`, uses[0]![1]]] : uses.map(([cmd, code]) => [`"${cmd} ${long}"`, code]),
    ),
  );
  const positionals = caseArms(
    spec.commands.flatMap((c) =>
      c.args.map((a, i): [string, string] => [`"${c.name} ${i}"`, bashValue(a.value, fn, commands)]).filter(([, code]) => code !== ':'),
    ),
  );
  const hasRepoFlag = spec.commands.some((c) => c.options.some((o) => o.long === '--ccci-repo'));
  return `# bash completion for ${spec.name}, generated by \`${spec.name} completion bash\` from the CLI's own definition.
# Use: source <(${spec.name} completion bash)   or save it as /etc/bash_completion.d/${spec.name}

# COMPREPLY from compgen, one entry per line (safe for names with spaces or glob characters).
${fn}_reply() {
  local line
  COMPREPLY=()
  while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen "$@" 2>/dev/null)
}

# Recipe names: folders of <cc-ci repo>/tests holding a recipe_meta.py, except those starting with "_". The
# repo is --ccci-repo from the command line, else $CCCI_REPO, else /etc/cc-ci. Plain shell: no node start.
${fn}_recipes() {
  local repo="\${CCCI_REPO:-/etc/cc-ci}" f name i
  local -a names=()
${hasRepoFlag ? `  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --ccci-repo)
        if [[ \${COMP_WORDS[i+1]} == "=" ]]; then repo="\${COMP_WORDS[i+2]}"; else repo="\${COMP_WORDS[i+1]}"; fi ;;
      --ccci-repo=*) repo="\${COMP_WORDS[i]#--ccci-repo=}" ;;
    esac
  done
` : ''}  for f in "$repo"/tests/*/recipe_meta.py; do
    [[ -f $f ]] || continue
    name="\${f%/recipe_meta.py}"
    name="\${name##*/}"
    [[ $name == _* ]] || names+=("$name")
  done
  ${fn}_reply -W "\${names[*]}" -- "$1"
}

${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" start=0 i word
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()

  # The subcommand is the first word that is not an option (the program's own options take no value).
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ $word != -* ]]; then cmd="$word"; start=$i; break; fi
  done
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then ${fn}_reply -W "${longs(spec.options)}" -- "$cur"
    else ${fn}_reply -W "${commands.join(' ')}" -- "$cur"; fi
    return 0
  fi

  local opts="" valopts=""
  case "$cmd" in
${perCommand.join('\n')}
    *) return 0 ;;
  esac

  # The value of an option: "--opt value", "--opt=value" (split by bash into --opt, =, value when "=" is in
  # COMP_WORDBREAKS, as it is by default) or, when it is not, the single word "--opt=value".
  local opt="" val="$cur" prefix=""
  if [[ $cur == "=" ]]; then opt="$prev"; val=""
  elif [[ $prev == "=" ]] && (( COMP_CWORD >= 2 )); then opt="\${COMP_WORDS[COMP_CWORD-2]}"
  elif [[ $cur == --*=* ]]; then opt="\${cur%%=*}"; val="\${cur#*=}"; prefix="$opt="
  else opt="$prev"
  fi
  if [[ -n $opt && " $valopts " == *" $opt "* ]]; then
    case "$cmd $opt" in
${values.join('\n')}
    esac
    if [[ -n $prefix ]]; then
      for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]="$prefix\${COMPREPLY[i]}"; done
    fi
    return 0
  fi

  if [[ $cur == -* ]]; then
    ${fn}_reply -W "$opts" -- "$cur"
    return 0
  fi

  # A positional argument: count the ones before it, skipping options and their values.
  local n=0
  for ((i = start + 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      --*=*) ;;
      -*)
        if [[ " $valopts " == *" $word "* ]]; then
          i=$((i + 1))
          [[ \${COMP_WORDS[i]} == "=" ]] && i=$((i + 1))
        fi ;;
      *) n=$((n + 1)) ;;
    esac
  done
  val="$cur"
  case "$cmd $n" in
${positionals.join('\n')}
  esac
  return 0
}

complete -F ${fn} ${spec.name}
`;
}

// ---------------------------------------------------------------------------------------------------------
// zsh

/** A word in single quotes for the shell. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** Text inside an _arguments `[explanation]`. */
const explanation = (s: string) => s.replace(/\\/g, '\\\\').replace(/([[\]])/g, '\\$1').replace(/\s+/g, ' ');
/** A message or a `_describe` entry part: colons separate fields. */
const field = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:').replace(/\s+/g, ' ');

function zshAction(v: ValueKind, fn: string, commands: string[]): string {
  switch (v.kind) {
    case 'choices':
      return `(${v.choices.join(' ')})`;
    case 'commands':
      return `(${commands.join(' ')})`;
    case 'recipes':
      return `${fn}_recipes`;
    case 'dirs':
      return '_files -/';
    case 'files':
      return '_files';
    case 'none':
      return ' ';
  }
}

function zshOption(o: OptionSpec, fn: string, commands: string[]): string[] {
  const rep = o.repeatable ? '*' : '';
  const desc = `[${explanation(o.description)}]`;
  const value = o.value === null ? '' : `:${field(o.valueName ?? o.long.slice(2))}:${zshAction(o.value, fn, commands)}`;
  const flags = o.short ? [[o.short, `(${o.long})`], [o.long, `(${o.short})`]] as const : [[o.long, '']] as const;
  // `--opt=` takes the value as the next word or after an "=" in the same word, like commander does.
  return flags.map(([flag, excl]) => sq(`${rep ? '' : excl}${rep}${flag}${o.value !== null && flag.startsWith('--') ? '=' : ''}${desc}${value}`));
}

function zshScript(spec: ProgramSpec): string {
  const fn = `_${spec.name}`;
  const helper = `_${ident(spec.name)}`;
  const commands = spec.commands.map((c) => c.name);
  const cont = ' \\\n';
  // _describe splits an entry at its first unescaped colon: only the name needs escaping.
  const describe = spec.commands.map((c) => `        ${sq(`${field(c.name)}:${c.description.replace(/\s+/g, ' ')}`)}`).join('\n');
  const arms = spec.commands.map((c) => {
    const specs = [
      ...c.options.flatMap((o) => zshOption(o, helper, commands)),
      ...c.args.map((a, i) => sq(`${i + 1}:${a.required ? '' : ':'}${field(a.name)}:${zshAction(a.value, helper, commands)}`)),
    ];
    return `        ${c.name})\n          _arguments${cont}            ${specs.join(`${cont}            `)} && ret=0 ;;`;
  });
  const top = spec.options.flatMap((o) => zshOption(o, helper, commands));
  return `#compdef ${spec.name}
# zsh completion for ${spec.name}, generated by \`${spec.name} completion zsh\` from the CLI's own definition.
# Use: ${spec.name} completion zsh > "\${fpath[1]}/${fn}"   or   source <(${spec.name} completion zsh)

# Recipe names: folders of <cc-ci repo>/tests holding a recipe_meta.py, except those starting with "_". The
# repo is --ccci-repo from the command line, else $CCCI_REPO, else /etc/cc-ci. Plain shell: no node start.
${helper}_recipes() {
  local repo=\${(Q)opt_args[--ccci-repo]:-\${CCCI_REPO:-/etc/cc-ci}}
  local -a names
  names=( $repo/tests/*/recipe_meta.py(N:h:t) )
  names=( \${names:#_*} )
  _wanted recipes expl recipe compadd -a names
}

${fn}() {
  local curcontext=$curcontext state state_descr line ret=1
  typeset -A opt_args
  _arguments -C${cont}    ${[...top, sq('1: :->command'), sq('*:: :->args')].join(`${cont}    `)} && ret=0
  case $state in
    command)
      local -a commands
      commands=(
${describe}
      )
      _describe -t commands command commands && ret=0 ;;
    args)
      curcontext=\${curcontext%:*:*}:${spec.name}-$words[1]:
      case $words[1] in
${arms.join('\n')}
      esac ;;
  esac
  return ret
}

if [[ $funcstack[1] == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${spec.name}
fi
`;
}
