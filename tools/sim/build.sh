#!/usr/bin/env bash
# Build the simulated-cluster binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) from the Go module proxy
# at the versions pinned in tools/sim/build/{k8s,kwok}/go.mod.
#
# Output: ${TODO_CLOUD_SIM_CACHE:-$HOME/.cache/todo-chatbot-cloud/sim}/bin/<tag>/
#         with a VERSIONS file (versions + sha256 of each binary) and
#         kwok-stages.yaml (kwok's default node/pod Stages, from the same
#         kwok module version, as kwokctl uses them).
# Idempotent: does nothing but print the versions when the binaries exist.
#
# Usage: tools/sim/build.sh [--force] [--print-bin-dir]
#   --print-bin-dir  print the bin dir for the pinned versions and exit
#                    (exit 1 if it is not built yet)
#   --force          rebuild even if the binaries exist
set -euo pipefail

SIM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_MOD="$SIM_DIR/build/k8s"
KWOK_MOD="$SIM_DIR/build/kwok"
CACHE="${TODO_CLOUD_SIM_CACHE:-$HOME/.cache/todo-chatbot-cloud/sim}"
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

force=0 print_dir=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    --print-bin-dir) print_dir=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

# Pinned versions, read from the go.mod files (single source of truth).
modver() { # <go.mod> <module path>
  awk -v m="$2" '$1=="require" {$1=""; $0=$0} $1==m && $2 ~ /^v/ {print $2; exit}' "$1"
}
K8S_VERSION="$(modver "$K8S_MOD/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(modver "$K8S_MOD/go.mod" go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(modver "$KWOK_MOD/go.mod" sigs.k8s.io/kwok)"
for v in K8S_VERSION ETCD_VERSION KWOK_VERSION; do
  [[ -n "${!v}" ]] || { echo "build.sh: cannot read $v from go.mod" >&2; exit 1; }
done
# The tag also carries a short hash of the build inputs so that a change of
# go.sum or of the build flags below yields a fresh directory.
BUILD_REV=1
inputs_hash="$( { cat "$K8S_MOD/go.mod" "$K8S_MOD/go.sum" "$KWOK_MOD/go.mod" "$KWOK_MOD/go.sum"; echo "rev=$BUILD_REV"; } | sha256sum | cut -c1-8)"
TAG="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_${inputs_hash}"
BIN_DIR="$CACHE/bin/$TAG"

complete() {
  [[ -f "$BIN_DIR/VERSIONS" ]] || return 1
  local b
  [[ -s "$BIN_DIR/kwok-stages.yaml" ]] || return 1
  for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || return 1; done
}

if (( print_dir )); then
  echo "$BIN_DIR"
  complete
  exit $?
fi

report() {
  local b
  for b in "${BINARIES[@]}"; do
    printf '%-24s %s\n' "$b" "$(awk -v b="$b" '$1==b {print $2; exit}' "$BIN_DIR/VERSIONS")"
  done
  echo "bin dir: $BIN_DIR"
}

if (( ! force )) && complete; then
  report
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: 'go' not found in PATH" >&2; exit 1; }
mkdir -p "$CACHE/bin"
exec 9>"$CACHE/bin/.build.lock"
if ! flock -n 9; then
  echo "build.sh: another build is running; waiting for its lock ..." >&2
  flock 9
  if (( ! force )) && complete; then report; exit 0; fi
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)
STAGE="$(mktemp -d "$CACHE/bin/.stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

echo "build.sh: building $TAG with $(go version | awk '{print $3}') (~8 min on 2 idle cores from cold caches; much longer on a loaded machine)" >&2

# kube-* version stamping, as k8s hack/lib/version.sh does.
k8s_date="$(cd "$K8S_MOD" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ldk=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldk+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldk+=" -X $p.gitTreeState=clean -X $p.buildDate=$k8s_date"
done
ldk+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=module-${ETCD_VERSION}"

# One go build for the four k8s-module binaries so they share compile work.
# Tags as in k8s hack/lib/golang.sh.
t0=$(date +%s)
(cd "$K8S_MOD" && go build -trimpath -tags=selinux,notest,grpcnotrace \
  -ldflags="-s -w$ldk" -o "$STAGE/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  go.etcd.io/etcd/server/v3)
mv "$STAGE/server" "$STAGE/etcd"   # the etcd main package is .../server/v3
t1=$(date +%s)
echo "build.sh: k8s module built in $((t1 - t0))s" >&2
(cd "$KWOK_MOD" && go build -trimpath -ldflags="-s -w" -o "$STAGE/kwok" sigs.k8s.io/kwok/cmd/kwok)
t2=$(date +%s)
echo "build.sh: kwok module built in $((t2 - t1))s" >&2

# kwok needs Stage objects to move nodes/pods along (kwokctl's defaults:
# node-fast init, heartbeat with lease, pod-fast ready/complete/delete).
kwok_dir="$(cd "$KWOK_MOD" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
         pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  echo "---"
  echo "# from sigs.k8s.io/kwok@$KWOK_VERSION kustomize/stage/$f"
  grep -v '^---$' "$kwok_dir/kustomize/stage/$f"
done > "$STAGE/kwok-stages.yaml"

binver() {
  case "$1" in
    etcd) "$STAGE/etcd" --version | awk '/^etcd Version:/ {print "v"$3}' ;;
    kwok) "$STAGE/kwok" --version | awk '{print $3; exit}' ;;
    *) "$STAGE/$1" --version | awk '{print $2; exit}' ;;
  esac
}
{
  echo "# todo-chatbot-cloud simulated cluster binaries ($TAG)"
  echo "# built $(date -u +%Y-%m-%dT%H:%M:%SZ) with $(go version | awk '{print $3, $4}'), CGO_ENABLED=0, -trimpath, $((t2 - start))s"
  echo "# modules: k8s.io/kubernetes $K8S_VERSION (staging k8s.io/* ${K8S_VERSION/v1./v0.}), go.etcd.io/etcd/server/v3 $ETCD_VERSION, sigs.k8s.io/kwok $KWOK_VERSION"
  echo "# binary version sha256"
  for b in "${BINARIES[@]}"; do
    v="$(binver "$b")"
    [[ -n "$v" ]] || { echo "build.sh: $b --version printed nothing" >&2; exit 1; }
    echo "$b $v $(sha256sum "$STAGE/$b" | awk '{print $1}')"
  done
  echo "kwok-stages.yaml $KWOK_VERSION $(sha256sum "$STAGE/kwok-stages.yaml" | awk '{print $1}')"
} > "$STAGE/VERSIONS"

rm -rf "$BIN_DIR"
mv "$STAGE" "$BIN_DIR"
trap - EXIT
chmod 755 "$BIN_DIR"
echo "build.sh: done in $(( $(date +%s) - start ))s" >&2
report
