#!/usr/bin/env bash
# The deploy/ checks, for real: lints the manifests (yamllint), the scrape configuration (promtool)
# and the systemd unit (systemd-analyze); runs the agent with exactly the DaemonSet's capabilities
# and with exactly the systemd unit's (setpriv) against a host process of another user; builds the
# image (deploy/build-image.sh) and runs it with podman as the DaemonSet runs it (those
# capabilities only, the host's PID namespace, a read-only root file system, the hostPath volumes)
# tracing a host process; points a real Prometheus at that container and runs every expression of
# the Grafana dashboard, each of which must return data.
# Usage: tests/deploy/run.sh [BUILD_DIR]   (needs root; BUILD_DIR has profilis-agent and the demo)
# PROFILIS_DEPLOY_SKIP_IMAGE=1 skips the image (build and container run) and the dashboard check.
# With CI=true anything missing fails the run instead of skipping it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
deploy=$root/deploy
agent=$build/profilis-agent
demo=$build/demo/demo_service
image=localhost/profilis-agent:test
py=/usr/bin/python3 # Debian's, with python3-yaml

fail() {
  echo "deploy: FAIL: $*" >&2
  exit 1
}
missing() {
  [[ ${CI:-} == true ]] && fail "$* (CI=true: missing is a failure)"
  echo "deploy: SKIP: $*"
  exit 0
}
[[ $(id -u) -eq 0 ]] || missing "needs root"
for tool in yamllint promtool prometheus systemd-analyze setpriv capsh jq curl podman mmdebstrap; do
  command -v "$tool" >/dev/null || missing "$tool is not installed (scripts/install-deps.sh)"
done
[[ -x $agent && -x $demo ]] || missing "build $agent and $demo first (scripts/build.sh)"
$py -c 'import yaml' 2>/dev/null || missing "$py has no yaml module (python3-yaml)"

work=$(mktemp -d /tmp/profilis-deploy.XXXXXX)
chmod 755 "$work"
pids=()
container=""
cleanup() {
  [[ -n $container ]] && podman rm -f "$container" >/dev/null 2>&1
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
started=$SECONDS

free_port() {
  $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # URL SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}
# JSONL in DIR must hold REQ, FN and DB events of PID.
check_events() {
  local dir=$1 pid=$2 kind n
  for kind in REQ FN DB; do
    n=$(cat "$dir"/*.jsonl 2>/dev/null | jq -c "select(.kind == \"$kind\" and .pid == $pid)" |
      wc -l)
    ((n > 0)) || fail "no $kind event of pid $pid in $dir"
    printf '%s=%s ' "$kind" "$n"
  done
  echo
}

echo "== deploy: lint"
yamllint -c "$root/tests/deploy/yamllint.yml" "$deploy/kubernetes" "$deploy/prometheus"
promtool check config "$deploy/prometheus/scrape.yml"
jq -e '[.panels[].targets[]?.expr] | length > 0' "$deploy/grafana/profilis-dashboard.json" \
  >/dev/null || fail "the dashboard has no expressions"
# verify wants ExecStart to exist: check a copy that points at the built agent.
sed "s|/usr/local/bin/profilis-agent|$agent|" "$deploy/systemd/profilis-agent.service" \
  >"$work/profilis-agent.service"
out=$(systemd-analyze verify --man=no "$work/profilis-agent.service" 2>&1) ||
  fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify: $out"

# What the manifests say, read from them rather than repeated here.
read -r ds_caps ds_hostpid ds_readonly ds_privileged ds_seccomp < <($py - "$deploy/kubernetes/daemonset.yaml" <<'EOF'
import sys, yaml
ds = yaml.safe_load(open(sys.argv[1]))
pod = ds["spec"]["template"]["spec"]
sc = pod["containers"][0]["securityContext"]
assert sc["capabilities"]["drop"] == ["ALL"], "the DaemonSet must drop ALL capabilities"
print(",".join(sc["capabilities"]["add"]), pod.get("hostPID", False),
      sc.get("readOnlyRootFilesystem", False), sc.get("privileged", False),
      sc.get("seccompProfile", {}).get("type", "RuntimeDefault"))
EOF
)
[[ $ds_hostpid == True && $ds_readonly == True && $ds_privileged == False ]] ||
  fail "daemonset.yaml: hostPID $ds_hostpid, readOnlyRootFilesystem $ds_readonly, privileged $ds_privileged"
unit_caps=$(sed -n 's/^AmbientCapabilities=//p' "$deploy/systemd/profilis-agent.service" |
  tr ' ' '\n' | sed 's/^CAP_//' | paste -sd,)
echo "deploy: DaemonSet capabilities: $ds_caps (seccomp $ds_seccomp); systemd unit's: $unit_caps"
setpriv_caps() { # BPF,PERFMON -> +bpf,+perfmon
  tr 'A-Z' 'a-z' <<<"$1" | sed 's/^/+/; s/,/,+/g'
}

# A traced process of another user, so that SYS_PTRACE and DAC_READ_SEARCH are exercised.
setpriv --reuid 65534 --regid 65534 --clear-groups "$demo" >/dev/null &
target=$!
pids+=("$target")
sleep 0.3
kill -0 "$target" || fail "the demo service did not start"

echo "== deploy: the agent with exactly the DaemonSet's capabilities (uid 0, setpriv)"
caps=$(setpriv_caps "$ds_caps")
mkdir "$work/ds"
setpriv --bounding-set=-all,"$caps" --inh-caps=-all -- "$agent" --pid "$target" \
  --fn demo::checksum --jsonl-dir "$work/ds" --duration 3 2>"$work/ds.err" >/dev/null ||
  fail "the agent failed under the DaemonSet's capabilities: $(cat "$work/ds.err")"
check_events "$work/ds" "$target"

echo "== deploy: the agent as the systemd unit runs it (a non-root user, ambient capabilities)"
caps=$(setpriv_caps "$unit_caps")
mkdir "$work/unit"
chown 61000:61000 "$work/unit"
setpriv --reuid 61000 --regid 61000 --clear-groups --inh-caps=-all,"$caps" \
  --ambient-caps=-all,"$caps" --bounding-set=-all,"$caps" -- "$agent" --pid "$target" \
  --fn demo::checksum --jsonl-dir "$work/unit" --duration 3 2>"$work/unit.err" >/dev/null ||
  fail "the agent failed under the unit's capabilities: $(cat "$work/unit.err")"
check_events "$work/unit" "$target"

echo "== deploy: perf-event uprobes (PROFILIS_NO_UPROBE_MULTI=1, as on kernels before 6.6)"
# With the DaemonSet's capabilities they attach, or (kernels with the mid-2025 revert) the agent
# exits 3 naming CAP_SYS_ADMIN; with SYS_ADMIN added (deploy/kubernetes/sys-admin) they attach.
mkdir "$work/classic" "$work/classic-admin"
set +e
PROFILIS_NO_UPROBE_MULTI=1 setpriv --bounding-set=-all,"$(setpriv_caps "$ds_caps")" \
  --inh-caps=-all -- "$agent" --pid "$target" --fn demo::checksum --jsonl-dir "$work/classic" \
  --duration 2 2>"$work/classic.err" >/dev/null
status=$?
set -e
if ((status == 0)); then
  echo "deploy: this kernel ($(uname -r)) attaches perf-event uprobes without CAP_SYS_ADMIN"
elif ((status == 3)) && grep -q 'CAP_SYS_ADMIN' "$work/classic.err"; then
  echo "deploy: this kernel ($(uname -r)) needs CAP_SYS_ADMIN for perf-event uprobes:"
  tail -1 "$work/classic.err"
else
  fail "perf-event uprobes: exit $status, not 0 or 3 naming CAP_SYS_ADMIN: $(cat "$work/classic.err")"
fi
PROFILIS_NO_UPROBE_MULTI=1 setpriv --bounding-set=-all,"$(setpriv_caps "$ds_caps,SYS_ADMIN")" \
  --inh-caps=-all -- "$agent" --pid "$target" --fn demo::checksum \
  --jsonl-dir "$work/classic-admin" --duration 3 2>"$work/classic-admin.err" >/dev/null ||
  fail "perf-event uprobes with SYS_ADMIN: $(cat "$work/classic-admin.err")"
check_events "$work/classic-admin" "$target"

if [[ ${PROFILIS_DEPLOY_SKIP_IMAGE:-} == 1 ]]; then
  [[ ${CI:-} == true ]] && fail "PROFILIS_DEPLOY_SKIP_IMAGE=1 under CI=true"
  echo "deploy: image and dashboard skipped (PROFILIS_DEPLOY_SKIP_IMAGE=1)"
  exit 0
fi

echo "== deploy: image (deploy/build-image.sh)"
t0=$SECONDS
bash "$deploy/build-image.sh" "$image" "$build/deploy" || fail "deploy/build-image.sh failed"
echo "deploy: image built in $((SECONDS - t0)) s"

echo "== deploy: the image run as the DaemonSet runs it (podman)"
port=$(free_port)
mkdir -p "$work/jsonl"
podman_caps=$(tr ',' '\n' <<<"$ds_caps" | sed 's/^/--cap-add=/' | paste -sd' ')
# runc, not crun: crun refuses a host whose cgroup v2 hierarchy has controllers beside v1 ones
# ("cgroups in hybrid mode"). The limits: where the runtime lacks CAP_SYS_RESOURCE (a VM's
# container), it cannot raise them to podman's defaults; these are below the host's.
read -r -a host_flags <<<"${PROFILIS_PODMAN_RUN_FLAGS:---runtime runc --ulimit nofile=1024:$(ulimit -Hn) --ulimit nproc=4096:4096}"
# The kubelet's log directories, as the DaemonSet's DirectoryOrCreate hostPaths: empty ones where
# this host has none.
logs=()
for d in pods containers; do
  src=/var/log/$d
  [[ -d $src ]] || { src=$work/log-$d && mkdir "$src"; }
  logs+=(-v "$src:/var/log/$d:ro")
done
# The DaemonSet's seccomp profile: the runtime's default, or none.
seccomp=()
[[ $ds_seccomp == Unconfined ]] && seccomp=(--security-opt seccomp=unconfined)
# shellcheck disable=SC2086 # one flag per capability
container=$(podman run -d "${host_flags[@]}" --cap-drop=ALL $podman_caps \
  "${seccomp[@]}" --security-opt no-new-privileges --pid=host --read-only --read-only-tmpfs=false \
  --network host -v "$work/jsonl:/var/lib/profilis/jsonl" \
  "${logs[@]}" \
  "$image" --pid "$target" --fn demo::checksum --prometheus "0.0.0.0:$port" \
  --jsonl-dir /var/lib/profilis/jsonl --instance deploy-test) ||
  fail "podman run failed"
if ! wait_http "http://127.0.0.1:$port/healthz" 20; then
  podman logs "$container" >&2 || true
  fail "the container's /healthz did not answer"
fi
# The agent's own capabilities, seen from the host, must be the DaemonSet's and no more.
agent_pid=$(podman inspect "$container" --format '{{.State.Pid}}')
eff=$(awk '/^CapEff:/ {print $2}' "/proc/$agent_pid/status")
have=$(capsh --decode="$eff" | sed 's/^[^=]*=//; s/cap_//g' | tr 'a-z' 'A-Z' | tr ',' '\n' | sort |
  paste -sd,)
want=$(tr ',' '\n' <<<"$ds_caps" | sort | paste -sd,)
[[ $have == "$want" ]] || fail "the container's agent has capabilities $have, not $want"
echo "deploy: container $container: /healthz 200; the agent (host pid $agent_pid) has CapEff $eff = $have"

echo "== deploy: Prometheus scraping the container, every dashboard expression"
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: profilis-agent
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOF
promtool check config "$work/prometheus.yml" >/dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=("$!")
wait_http "http://127.0.0.1:$prom_port/-/ready" 30 || fail "Prometheus did not start"
# Grafana's variables: every agent and service, this job; a rate window of several scrapes.
jq -r '.panels[].targets[]?.expr' "$deploy/grafana/profilis-dashboard.json" |
  sed 's/\$__rate_interval/15s/g; s/\$job/profilis-agent/g; s/\$instance/.*/g; s/\$service/.*/g' \
    >"$work/exprs"
total=$(wc -l <"$work/exprs")
deadline=$((SECONDS + 60))
while :; do
  empty=()
  while IFS= read -r expr; do
    n=$(curl -fsG "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$expr" |
      jq '[.data.result[] | select(.value[1] != "NaN")] | length')
    ((n > 0)) || empty+=("$expr")
  done <"$work/exprs"
  ((${#empty[@]} == 0)) && break
  if ((SECONDS > deadline)); then
    printf 'deploy: no data: %s\n' "${empty[@]}" >&2
    fail "${#empty[@]} of $total dashboard expressions returned no data"
  fi
  sleep 2
done
echo "deploy: all $total dashboard expressions returned data"

echo "== deploy: the container's events and its stop"
podman stop -t 10 "$container" >/dev/null
status=$(podman inspect "$container" --format '{{.State.ExitCode}}')
podman logs "$container" 2>&1 | tail -2
[[ $status == 0 ]] || fail "the container's agent exited $status"
check_events "$work/jsonl" "$target"
echo "deploy: all checks passed in $((SECONDS - started)) s"
