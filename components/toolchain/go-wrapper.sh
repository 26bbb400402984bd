# Sourced by the build-*.sh scripts that build a command from a Go module through a
# throwaway wrapper module (`go install pkg@version` refuses modules with replace
# directives, and several we build have them).

# wrapper_module NAME: cd into a new temporary module kafkamig.local/NAME (removed on exit),
# in module mode and without cgo.
wrapper_module() {
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cd "$work"
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  go mod init "kafkamig.local/$1" >/dev/null 2>&1
}

# module_replaces MODULE@VERSION modules|pin [TAG]: the replace directives of MODULE's go.mod
# for the wrapper. `modules` copies those whose target is a module; `pin TAG` turns those
# pointing into MODULE's own tree (relative paths, absent from its module zip) into TAG of
# the replaced module.
module_replaces() {
  local modfile
  modfile=$(go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  python3 - "$modfile" "$2" "${3:-}" <<'PY'
import re, sys
text, mode, tag = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
lines = re.findall(r"^replace\s+(.+)$", text, re.M)
for block in re.findall(r"^replace\s*\((.*?)^\)", text, re.M | re.S):
    lines += [l.strip() for l in block.splitlines() if l.strip()]
for line in lines:
    if "=>" not in line:
        continue
    source, target = (part.strip() for part in line.split("=>", 1))
    if mode == "modules" and not target.startswith("."):
        print(f"replace {line}")
    elif mode == "pin" and target.startswith("."):
        print(f"replace {source.split()[0]} => {source.split()[0]} {tag}")
PY
}
