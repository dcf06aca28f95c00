#!/bin/sh
# mkca.sh DIR: make a throwaway test CA and server certificates for the fake API servers.
#
# Creates in DIR (reusing whatever already exists there):
#   ca.pem / ca.key                 the test CA
#   server.pem / server.key         signed by the CA; SAN localhost, 127.0.0.1, ::1; valid now
#   wronghost.pem / wronghost.key   signed by the CA; SAN only wrong.example
#   expired.pem / expired.key       signed by the CA for localhost/127.0.0.1; expired in 2020
# Keys are EC P-256 (fast to make). Quiet on success. Needs only the openssl CLI (3.0 is enough:
# the expired certificate is made with `openssl ca -startdate/-enddate`, since `x509 -not_before`
# does not exist before 3.4).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

work=$(mktemp -d ./.mkca.XXXXXX)
# On failure show what openssl said; on success say nothing.
on_exit() {
    rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$work/log" >&2 2>/dev/null || true
        echo "mkca.sh: failed to make test certificates in $dir" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap on_exit EXIT

# ossl ARGS...: openssl with its chatter kept for the failure report.
ossl() {
    openssl "$@" 2>>"$work/log"
}

# new_key FILE: an EC P-256 private key in PKCS#8 PEM.
new_key() {
    ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# leaf_ext SAN: the extension section every server certificate gets.
leaf_ext() {
    cat <<EOF
[v3]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $1
EOF
}

# make_ca: self-signed CA, ten years.
make_ca() {
    new_key ca.key
    ossl req -x509 -new -key ca.key -sha256 -days 3650 -out ca.pem \
        -subj "/CN=docker-credential-keyring test CA" \
        -addext "basicConstraints = critical, CA:TRUE" \
        -addext "keyUsage = critical, keyCertSign, cRLSign" \
        -addext "subjectKeyIdentifier = hash"
}

# make_leaf NAME CN SAN: NAME.pem/NAME.key signed by the CA, valid from now for ten years.
make_leaf() {
    new_key "$1.key"
    leaf_ext "$3" > "$work/$1.ext"
    ossl req -new -key "$1.key" -subj "/CN=$2" -out "$work/$1.csr"
    ossl x509 -req -in "$work/$1.csr" -CA ca.pem -CAkey ca.key -sha256 -days 3650 \
        -set_serial "0x$(ossl rand -hex 16)" \
        -extfile "$work/$1.ext" -extensions v3 -out "$1.pem"
}

# make_expired: expired.pem/expired.key, valid only on 2020-01-01, via `openssl ca`.
make_expired() {
    new_key expired.key
    ossl req -new -key expired.key -subj "/CN=localhost" -out "$work/expired.csr"
    mkdir "$work/certs"
    : > "$work/index.txt"
    echo 01 > "$work/serial"
    {
        cat <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $work/index.txt
new_certs_dir = $work/certs
serial = $work/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
EOF
        leaf_ext "DNS:localhost, IP:127.0.0.1, IP:::1"
    } > "$work/ca.cnf"
    ossl ca -batch -config "$work/ca.cnf" -cert ca.pem -keyfile ca.key -rand_serial \
        -startdate 20200101000000Z -enddate 20200102000000Z -extensions v3 -notext \
        -in "$work/expired.csr" -out expired.pem
}

# have NAME: both NAME.pem and NAME.key exist and are not empty.
have() {
    [ -s "$1.pem" ] && [ -s "$1.key" ]
}

# (if-blocks rather than `have x || make_x`: set -e is ignored inside the right side of ||.)
if ! have ca; then
    make_ca
    # Leaves signed by an older CA would no longer verify: remake them.
    rm -f server.pem server.key wronghost.pem wronghost.key expired.pem expired.key
fi
if ! have server; then
    make_leaf server localhost "DNS:localhost, IP:127.0.0.1, IP:::1"
fi
if ! have wronghost; then
    make_leaf wronghost wrong.example "DNS:wrong.example"
fi
if ! have expired; then
    make_expired
fi

# Keys stay private (umask 077); certificates are public.
chmod 644 ca.pem server.pem wronghost.pem expired.pem
