#!/bin/sh
# Entrypoint of the Micro Ledger image: PROGRAM [FLAG...], PROGRAM one of ml-host,
# ml-owner, ml-mirror, ml-witness, mlctl or dhtnode (ml-host when none is given). It adds the
# defaults a container needs unless the flag is given:
#   ml-host    --data_dir=/data/host     --listen=0.0.0.0:7400
#   ml-mirror  --data_dir=/data/mirror   --listen=0.0.0.0:7500
#   ml-witness --data_dir=/data/witness  --listen=0.0.0.0:7600  --http_listen=0.0.0.0:7601
#              (its --key_file must be given)
#   ml-owner   --keystore=/data/keystore (listen stays 127.0.0.1:7401: ml-owner
#              refuses any other address without TLS and --token_file, so run it
#              with --network=host or give it --listen, --tls_cert/--tls_key and
#              --token_file)
# A published port reaches only a server listening on all interfaces, hence
# 0.0.0.0 for ml-host and ml-mirror. With ML_HOST_MASTER_KEYS_DIR set (Kubernetes:
# a Secret with one key per StatefulSet pod), ml-host gets the master secret of
# this pod, the file named $POD_NAME there, through ML_HOST_MASTER_KEY; a pod
# without its own key refuses to start rather than share or invent one.
set -eu

program=${1:-ml-host}
[ "$#" -gt 0 ] && shift

# True when the flag $1 is among the remaining arguments.
has_flag() {
  flag=$1
  shift
  for arg in "$@"; do
    case "$arg" in
      "--$flag" | "--$flag="* | "-$flag" | "-$flag="*) return 0 ;;
    esac
  done
  return 1
}

case "$program" in
  ml-host)
    has_flag data_dir "$@" || set -- --data_dir=/data/host "$@"
    has_flag listen "$@" || set -- --listen=0.0.0.0:7400 "$@"
    if [ -n "${ML_HOST_MASTER_KEYS_DIR:-}" ]; then
      key_file="$ML_HOST_MASTER_KEYS_DIR/${POD_NAME:?POD_NAME must name this pod}"
      if [ ! -r "$key_file" ]; then
        echo "ml-entrypoint: no master secret for $POD_NAME in $ML_HOST_MASTER_KEYS_DIR" >&2
        exit 1
      fi
      ML_HOST_MASTER_KEY=$(cat "$key_file")
      export ML_HOST_MASTER_KEY
    fi
    ;;
  ml-witness)
    has_flag data_dir "$@" || set -- --data_dir=/data/witness "$@"
    has_flag listen "$@" || set -- --listen=0.0.0.0:7600 "$@"
    has_flag http_listen "$@" || set -- --http_listen=0.0.0.0:7601 "$@"
    ;;
  ml-mirror)
    has_flag data_dir "$@" || set -- --data_dir=/data/mirror "$@"
    has_flag listen "$@" || set -- --listen=0.0.0.0:7500 "$@"
    ;;
  ml-owner)
    has_flag keystore "$@" || set -- --keystore=/data/keystore "$@"
    ;;
  mlctl | dhtnode) ;;
  *)
    echo "ml-entrypoint: unknown program '$program' (ml-host, ml-owner, ml-mirror, ml-witness, mlctl, dhtnode)" >&2
    exit 2
    ;;
esac
exec "$program" "$@"
