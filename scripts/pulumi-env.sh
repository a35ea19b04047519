# Sourced by the project's scripts: a Pulumi that never talks to a service.
#   - the CLI and language host from scripts/toolchain.sh (an existing `pulumi` is used as it is);
#   - a local file backend (PULUMI_BACKEND_URL, default ~/.bitrix-cluster/state) unless one is set;
#   - a passphrase for stack secrets: PULUMI_CONFIG_PASSPHRASE(_FILE) if set, else one generated once
#     into ~/.bitrix-cluster/passphrase (mode 0600; keep it, it decrypts the stacks' secrets);
#   - no update checks, no plugin downloads.
_bx_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_bx_home="${BITRIX_CLUSTER_HOME:-$HOME/.bitrix-cluster}"
mkdir -p "$_bx_home"
PATH="$(bash "$_bx_root/scripts/toolchain.sh"):$PATH"
export PATH
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$_bx_home/state}"
case "$PULUMI_BACKEND_URL" in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  if [[ ! -s "$_bx_home/passphrase" ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$_bx_home/passphrase")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$_bx_home/passphrase"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
unset _bx_root _bx_home
