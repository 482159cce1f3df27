// The ONE ls-remote parser (pure): refs, peeled tags and the symref HEAD from git's listing.
export interface Listing {
  /** The branch HEAD points at, when asked with --symref and the server says. */
  defaultBranch?: string;
  /** Full ref name -> object id as advertised (an annotated tag maps to its tag object). */
  refs: Map<string, string>;
  /** Full ref name -> the fully peeled object (the `^{}` lines), through every tag object (a tag of a tag too). */
  peeled: Map<string, string>;
}

/** Parses `git ls-remote [--symref]` output. */
export function parseLsRemote(out: string): Listing {
  const result: Listing = { refs: new Map(), peeled: new Map() };
  for (const line of out.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const left = line.slice(0, tab);
    const name = line.slice(tab + 1).trimEnd();
    if (left.startsWith('ref: ')) {
      if (name === 'HEAD' && left.startsWith('ref: refs/heads/')) result.defaultBranch = left.slice('ref: refs/heads/'.length);
      continue;
    }
    if (name.endsWith('^{}')) result.peeled.set(name.slice(0, -3), left);
    else result.refs.set(name, left);
  }
  return result;
}

/** Tag name -> object id as advertised (unpeeled): what mirror-sync compares and pushes. */
export function tagObjects(l: Listing): Map<string, string> {
  const tags = new Map<string, string>();
  for (const [name, sha] of l.refs) if (name.startsWith('refs/tags/')) tags.set(name.slice('refs/tags/'.length), sha);
  return tags;
}

/** Tag name -> the object the tag finally points to (peeled through every tag object). */
export function tagTargets(l: Listing): Map<string, string> {
  const tags = new Map<string, string>();
  for (const [name, sha] of l.refs) {
    if (name.startsWith('refs/tags/')) tags.set(name.slice('refs/tags/'.length), l.peeled.get(name) ?? sha);
  }
  return tags;
}
