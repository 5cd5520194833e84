#!/usr/bin/env python3
"""Lists the public functions whose docs lack a section the project requires (STYLE.md).

Rules checked, over the sources of every workspace crate (`*/src/**.rs` and the facade's
`src/`; tests, examples, benches and `#[cfg(test)]` modules excluded):

1. every `pub fn` has a `# Switches` section (can it switch to the hub?);
2. every `pub fn` whose `# Switches` section does not begin with "Never" also has a
   `# Kill safety` section (what a kill or a timeout unwinding out of it leaves behind);
3. every public method of `gevent_hub::Greenlet<T>` (`hub/src/glet.rs`) and every public
   item of the `gevent-subprocess` crate has an `# Examples` section with a code block (or
   one that points to another item's example with "See").

A `pub fn` counts as public even in a private module: such functions are the methods of
re-exported types. `pub(crate)` and `pub(super)` items are not public, nor are
`#[doc(hidden)]` ones, nor what a `macro_rules!` body declares.

Usage: python3 .ci/doc_sections.py [--quiet]   (from anywhere in the repository)
Prints one line per missing section, then the count; exits 1 if the count is not 0.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PUB_FN = re.compile(r"^\s*pub\s+(?:const\s+)?(?:unsafe\s+)?(?:extern\s+\"C\"\s+)?fn\s+(\w+)")
PUB_ITEM = re.compile(
    r"^\s*pub\s+(?:const\s+)?(?:unsafe\s+)?(?:fn|struct|enum|trait|type|const|static|mod)\s+(\w+)"
)
GREENLET_IMPL = re.compile(r"^impl<T(: 'static)?> Greenlet<T> \{")


def crate_dirs():
    """The workspace members' source directories, from the root Cargo.toml."""
    text = (ROOT / "Cargo.toml").read_text()
    m = re.search(r"members\s*=\s*\[(.*?)\]", text, re.S)
    members = re.findall(r'"([^"]+)"', m.group(1)) if m else ["."]
    return [ROOT / name / "src" for name in members if (ROOT / name / "src").is_dir()]


def doc_block(lines, i):
    """The doc-comment lines (without `///`) directly above line `i`, and whether the item
    is `#[doc(hidden)]` (not public API)."""
    docs, hidden = [], False
    j = i - 1
    while j >= 0:
        s = lines[j].strip()
        if s.startswith("///"):
            docs.append(s[3:].removeprefix(" "))
        elif s.startswith("#["):
            hidden |= s.startswith("#[doc(hidden)]")
        elif s.startswith("//"):
            pass  # a plain comment between the docs and the item
        elif s.endswith("]"):
            pass  # the end of a multi-line attribute
        else:
            break
        j -= 1
    docs.reverse()
    return docs, hidden


def section(docs, title):
    """The text of section `# title` (its lines up to the next heading), or None."""
    out, inside, fence = None, False, False
    for d in docs:
        if d.startswith("```"):
            fence = not fence
        if not fence and re.match(r"#+ ", d):
            if inside:
                break
            if d.lstrip("#").strip() == title:
                inside, out = True, []
                continue
        if inside:
            out.append(d)
    return None if out is None else "\n".join(out).strip()


def has_example(docs):
    ex = section(docs, "Examples")
    if ex is None:
        return False
    return "```" in ex or ex.startswith("See ")


def main():
    quiet = "--quiet" in sys.argv
    missing = []
    for src in crate_dirs():
        for path in sorted(src.rglob("*.rs")):
            rel = path.relative_to(ROOT)
            lines = path.read_text().splitlines()
            subprocess_crate = rel.parts[0] == "subprocess"
            in_greenlet_impl = False
            macro_depth = None
            for i, line in enumerate(lines):
                if line.startswith("#[cfg(test)]"):
                    nxt = lines[i + 1] if i + 1 < len(lines) else ""
                    if nxt.startswith("mod "):
                        break  # test modules sit at the end of their file
                if GREENLET_IMPL.match(line) and rel.as_posix() == "hub/src/glet.rs":
                    in_greenlet_impl = True
                elif line.startswith("}"):
                    in_greenlet_impl = False
                if line.lstrip().startswith("macro_rules!"):
                    macro_depth = len(line) - len(line.lstrip())
                elif macro_depth is not None and line.startswith(" " * macro_depth + "}"):
                    macro_depth = None
                if macro_depth is not None:
                    continue  # items a macro expands to are documented by the macro
                where = f"{rel}:{i + 1}"
                fn = PUB_FN.match(line)
                item = PUB_ITEM.match(line)
                if fn is None and not (subprocess_crate and item):
                    continue
                docs, hidden = doc_block(lines, i)
                if hidden:
                    continue
                name = (fn or item).group(1)
                if fn is not None:
                    sw = section(docs, "Switches")
                    if sw is None:
                        missing.append(f"{where}: {name}: no `# Switches`")
                    elif not sw.startswith("Never") and section(docs, "Kill safety") is None:
                        missing.append(f"{where}: {name}: can switch, no `# Kill safety`")
                if (in_greenlet_impl and fn is not None) or subprocess_crate:
                    if not has_example(docs):
                        missing.append(f"{where}: {name}: no `# Examples`")
    if not quiet:
        for m in missing:
            print(m)
    print(f"{len(missing)} missing section(s)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
