#!/usr/bin/env bash
# Makes a throwaway CA and, signed by it, a server certificate for 127.0.0.1 /
# localhost / ::1 and a client certificate, all in directory $1 (for TLS tests).
set -euo pipefail
dir="$1"
mkdir -p "$dir"
cd "$dir"
subject_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

subject_key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj "/CN=microledger test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null

issue() {  # name, subject, extensions
  subject_key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
issue server "/CN=localhost" \
  "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
extendedKeyUsage=serverAuth"
issue client "/CN=microledger test client" "extendedKeyUsage=clientAuth"
chmod 600 ./*.key
