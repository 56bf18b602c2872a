#!/usr/bin/env bash
# Smoke test of the simulated cluster: starts etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok on loopback (free ports
# chosen at start) in a temp dir, creates one fake Node and a Deployment,
# waits until its pod is Running on the fake node, prints the timings, and
# tears everything down (processes + temp dir) on exit.
#
# Usage: tools/sim/smoke_start.sh [--hold]
#   --hold   after the check, keep the cluster up until Ctrl-C
#            (prints the admin KUBECONFIG to use)
# Env:
#   TODO_CLOUD_SIM_BIN   bin dir to use (default: what build.sh --print-bin-dir says)
#   KUBECTL              kubectl to use (default /tmp/whl/l/kubectl/kubectl, else PATH)
#   SIM_PORT_ETCD, SIM_PORT_ETCD_PEER, SIM_PORT_APISERVER, SIM_PORT_KCM,
#   SIM_PORT_SCHEDULER, SIM_PORT_KWOK   fix a port instead of picking a free one
#   SIM_TIMEOUT          seconds to wait for each phase (default 90)
set -euo pipefail

SIM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOLD=0
for a in "$@"; do
  case "$a" in
    --hold) HOLD=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "smoke_start: unknown argument: $a" >&2; exit 2 ;;
  esac
done
TIMEOUT="${SIM_TIMEOUT:-90}"

die() { echo "smoke_start: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# --- binaries ---------------------------------------------------------------
if [[ -n "${TODO_CLOUD_SIM_BIN:-}" ]]; then
  BIN="$TODO_CLOUD_SIM_BIN"
else
  BIN="$("$SIM_DIR/build.sh" --print-bin-dir)" ||
    die "simulated-cluster binaries are not built for the pinned versions (expected in $BIN); run tools/sim/build.sh"
fi
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  [[ -x "$BIN/$b" ]] || die "binary missing: $BIN/$b (run tools/sim/build.sh)"
done
[[ -s "$BIN/kwok-stages.yaml" ]] || die "missing $BIN/kwok-stages.yaml (run tools/sim/build.sh)"
if [[ -n "${KUBECTL:-}" ]]; then :
elif [[ -x /tmp/whl/l/kubectl/kubectl ]]; then KUBECTL=/tmp/whl/l/kubectl/kubectl
else KUBECTL="$(command -v kubectl)" || die "kubectl not found (set KUBECTL)"
fi
[[ -x "$KUBECTL" ]] || die "kubectl not executable: $KUBECTL"
command -v openssl >/dev/null || die "openssl not found"
command -v python3 >/dev/null || die "python3 not found (used to pick free ports)"

T0="$(now)"

# --- temp dir, process bookkeeping, cleanup ------------------------------------
W="$(mktemp -d "${TMPDIR:-/tmp}/todo-sim.XXXXXX")"
PIDS=() NAMES=()
stop_pids() { # <grace seconds> <pid>...: TERM, wait up to grace, then KILL
  local grace="$1" pid alive i; shift
  (( $# )) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for (( i=0; i<grace*10; i++ )); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # everything but etcd first (the apiserver shuts down faster with etcd up), then etcd
  (( ${#PIDS[@]} > 1 )) && stop_pids 10 "${PIDS[@]:1}"
  (( ${#PIDS[@]} > 0 )) && stop_pids 5 "${PIDS[0]}"
  (( ${#PIDS[@]} == 0 )) || wait "${PIDS[@]}" 2>/dev/null || true
  rm -rf "$W"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
  local n
  for n in "${NAMES[@]}"; do
    echo "----- last lines of $n.log -----" >&2
    tail -n 25 "$W/$n.log" >&2 || true
  done
}
fail() { echo "smoke_start: FAILED: $*" >&2; show_logs; exit 1; }

# --- ports --------------------------------------------------------------------
port_free() { # exit 0 if 127.0.0.1:$1 can be bound
  python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
}
read -r -a FREE < <(python3 -c 'import socket
ss=[socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
P_ETCD="${SIM_PORT_ETCD:-${FREE[0]}}"
P_ETCD_PEER="${SIM_PORT_ETCD_PEER:-${FREE[1]}}"
P_APISERVER="${SIM_PORT_APISERVER:-${FREE[2]}}"
P_KCM="${SIM_PORT_KCM:-${FREE[3]}}"
P_SCHEDULER="${SIM_PORT_SCHEDULER:-${FREE[4]}}"
P_KWOK="${SIM_PORT_KWOK:-${FREE[5]}}"
for pv in P_ETCD P_ETCD_PEER P_APISERVER P_KCM P_SCHEDULER P_KWOK; do
  port_free "${!pv}" || die "port ${!pv} on 127.0.0.1 is already in use (SIM_PORT_${pv#P_}); free it or set SIM_PORT_${pv#P_} to another port"
done

# --- certificates and keys ----------------------------------------------------
PKI="$W/pki"; mkdir -p "$PKI"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 2 \
  -subj "/CN=todo-sim-ca" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cert() { # <name> <subject> <extendedKeyUsage> [subjectAltName]
  openssl req -new "${ec[@]}" -keyout "$PKI/$1.key" -subj "$2" 2>/dev/null |
    openssl x509 -req -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
      -out "$PKI/$1.crt" -extfile <(
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$3"
        [[ -z "${4:-}" ]] || echo "subjectAltName=$4"
      ) 2>/dev/null
}
cert apiserver "/CN=kube-apiserver" serverAuth \
  "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=todo-sim-admin" clientAuth
cert kcm "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kwok "/O=system:masters/CN=kwok-controller" clientAuth
cert front-proxy-client "/CN=front-proxy-client" clientAuth   # aggregation layer
# service-account token signing key pair
openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key"
openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null

kubeconfig() { # <name> -> $W/<name>.kubeconfig using pki/<name>.{crt,key}
  cat > "$W/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: todo-sim
  cluster:
    server: https://127.0.0.1:$P_APISERVER
    certificate-authority: $PKI/ca.crt
users:
- name: $1
  user:
    client-certificate: $PKI/$1.crt
    client-key: $PKI/$1.key
contexts:
- name: todo-sim
  context: {cluster: todo-sim, user: $1}
current-context: todo-sim
EOF
}
for n in admin kcm scheduler kwok; do kubeconfig "$n"; done
export KUBECONFIG="$W/admin.kubeconfig"

# --- start processes ----------------------------------------------------------
start() { # <name> <binary> args...
  local name="$1" bin="$2"; shift 2
  "$BIN/$bin" "$@" >"$W/$name.log" 2>&1 &
  PIDS+=("$!"); NAMES+=("$name")
}
check_alive() {
  local i
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
      if grep -qiE 'address already in use|bind: .*in use' "$W/${NAMES[i]}.log"; then
        fail "${NAMES[i]} could not bind its port (address already in use)"
      fi
      fail "${NAMES[i]} exited early"
    fi
  done
}
wait_for() { # <description> <command...>: poll every 0.1 s until the command succeeds
  local what="$1" deadline; shift
  deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    check_alive
    (( $(date +%s) < deadline )) || fail "timed out after ${TIMEOUT}s waiting for $what"
    sleep 0.1
  done
}

start etcd etcd \
  --name=sim --data-dir="$W/etcd" \
  --listen-client-urls="http://127.0.0.1:$P_ETCD" --advertise-client-urls="http://127.0.0.1:$P_ETCD" \
  --listen-peer-urls="http://127.0.0.1:$P_ETCD_PEER" --initial-advertise-peer-urls="http://127.0.0.1:$P_ETCD_PEER" \
  --initial-cluster="sim=http://127.0.0.1:$P_ETCD_PEER" \
  --unsafe-no-fsync --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) --log-level=warn

start kube-apiserver kube-apiserver \
  --etcd-servers="http://127.0.0.1:$P_ETCD" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$P_APISERVER" \
  --endpoint-reconciler-type=none \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --requestheader-client-ca-file="$PKI/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,NodeRestriction,PodSecurity \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --allow-privileged=true --profiling=false

wait_for "kube-apiserver /readyz" "$KUBECTL" get --raw=/readyz
T_API="$(since "$T0")"
echo "smoke_start: API ready after ${T_API}s (https://127.0.0.1:$P_APISERVER)"

start kube-controller-manager kube-controller-manager \
  --kubeconfig="$W/kcm.kubeconfig" \
  --authentication-kubeconfig="$W/kcm.kubeconfig" --authorization-kubeconfig="$W/kcm.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$P_KCM" --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --cluster-name=todo-sim --profiling=false

start kube-scheduler kube-scheduler \
  --kubeconfig="$W/scheduler.kubeconfig" \
  --authentication-kubeconfig="$W/scheduler.kubeconfig" --authorization-kubeconfig="$W/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$P_SCHEDULER" --leader-elect=false --profiling=false

start kwok kwok \
  --kubeconfig="$W/kwok.kubeconfig" \
  --config="$BIN/kwok-stages.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --server-address="127.0.0.1:$P_KWOK" \
  --node-ip=127.0.0.1 --node-port="$P_KWOK" \
  --node-lease-duration-seconds=40

# --- fake node + deployment ------------------------------------------------------
"$KUBECTL" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
---
apiVersion: v1
kind: Namespace
metadata:
  name: smoke
  labels:
    pod-security.kubernetes.io/enforce: restricted
EOF

# Pods in the smoke namespace are admitted only once its default ServiceAccount does (ServiceAccount admission).
wait_for "serviceaccount smoke/default" "$KUBECTL" -n smoke get serviceaccount default

# PodSecurity admission must be active: a privileged pod in a restricted namespace is refused.
if "$KUBECTL" -n smoke run psa-probe --image=busybox --restart=Never --dry-run=server \
     --overrides='{"spec":{"containers":[{"name":"psa-probe","image":"busybox","securityContext":{"privileged":true}}]}}' \
     >"$W/psa.out" 2>&1; then
  fail "PodSecurity admission did not reject a privileged pod in a restricted namespace"
fi
grep -q 'violates PodSecurity' "$W/psa.out" || { cat "$W/psa.out" >&2; fail "unexpected error from the PodSecurity probe"; }


"$KUBECTL" -n smoke apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
spec:
  replicas: 1
  selector:
    matchLabels: {app: smoke}
  template:
    metadata:
      labels: {app: smoke}
    spec:
      nodeSelector: {type: kwok}
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: app
        image: registry.invalid/todo-sim/smoke:never-pulled
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
EOF

pod_running() {
  [[ "$("$KUBECTL" -n smoke get pods -l app=smoke \
        -o jsonpath='{range .items[*]}{.status.phase}/{.spec.nodeName}{"\n"}{end}')" == *"Running/kwok-node-0"* ]]
}
wait_for "node kwok-node-0 Ready" "$KUBECTL" wait --for=condition=Ready node/kwok-node-0 --timeout=1s
wait_for "the smoke Deployment's pod to be Running on kwok-node-0" pod_running
T_POD="$(since "$T0")"
"$KUBECTL" -n smoke get pods -o wide
echo "smoke_start: OK  api-ready=${T_API}s  pod-running=${T_POD}s  (binaries: $BIN)"

if (( HOLD )); then
  echo "smoke_start: cluster is up; export KUBECONFIG=$KUBECONFIG ; Ctrl-C to stop"
  while true; do check_alive; sleep 2 & wait $! || true; done
fi
