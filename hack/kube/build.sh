#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl at
# the one release named in versions.env into a cache keyed by that release
# (default ~/.cache/visionq/kube/<kube version>/). A no-op when every binary is there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"
out="${VISIONQ_KUBE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/visionq/kube/${KUBE_VERSION}}"
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
missing=()
for b in "${bins[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
if [ "${#missing[@]}" -eq 0 ] && [ -f "$out/.complete" ]; then
  echo "kube:build: $out is complete (${KUBE_VERSION}, etcd ${ETCD_VERSION})"
  exit 0
fi
mkdir -p "$out"
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || { echo "kube:build: Go >= 1.26 is needed (https://go.dev/doc/install)" >&2; exit 1; }
start=$(date +%s)
# -mod=readonly: the committed go.mod and go.sum are the build; nothing is resolved anew.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly"
minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
major="${KUBE_VERSION#v}"; major="${major%%.*}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=${KUBE_VERSION} -X $pkg.gitMajor=${major} -X $pkg.gitMinor=${minor}"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
echo "kube:build: building ${KUBE_VERSION} and etcd ${ETCD_VERSION} into $out (a cold build takes 20-50 minutes on 2 cores)"
(cd "$here/kubernetes" && go build -trimpath -ldflags "$ldflags" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
(cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
for b in "${bins[@]}"; do [ -x "$out/$b" ] || { echo "kube:build: $b was not built" >&2; exit 1; }; done
printf 'kube=%s\netcd=%s\n' "$KUBE_VERSION" "$ETCD_VERSION" > "$out/.complete"
echo "kube:build: done in $(( $(date +%s) - start )) s"
