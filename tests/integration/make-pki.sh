#!/bin/sh
# SPDX-License-Identifier: MIT
# Make a throw-away test PKI in directory $1 with the openssl CLI.
#   ca.crt/.key            test CA
#   server.crt/.key        CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   client.crt/.key        client certificate signed by the test CA
#   other-ca.crt/.key      an unrelated CA
#   other-client.crt/.key  client certificate signed by the unrelated CA
#   other-server.crt       server.key's certificate signed by the unrelated CA
#   expired.crt            server.key's certificate, valid 2020-2021 only
#   wrongname.crt          server.key's certificate for wrong.example.com only
#   notpem.crt             not a certificate at all
# EC P-256 keys keep generation fast (well under a second).
set -eu
d=$1
mkdir -p "$d"
cd "$d"
days=30

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

mkca() { # name cn
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days $days -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt" 2>/dev/null
}

sign() { # csr ca out extfile
  openssl x509 -req -in "$1" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days $days \
    -sha256 -extfile "$4" -extensions ext -out "$3" 2>/dev/null
}

cat > server.ext <<'X'
[ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
X
cat > wrongname.ext <<'X'
[ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.example.com
X
cat > client.ext <<'X'
[ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=clientAuth
X

mkca ca "hmq test CA"
mkca other-ca "hmq unrelated CA"

key server.key
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
sign server.csr ca server.crt server.ext
sign server.csr other-ca other-server.crt server.ext
openssl req -new -key server.key -subj "/CN=wrong.example.com" -out wrongname.csr 2>/dev/null
sign wrongname.csr ca wrongname.crt wrongname.ext

key client.key
openssl req -new -key client.key -subj "/CN=hmq-test-client" -out client.csr 2>/dev/null
sign client.csr ca client.crt client.ext
key other-client.key
openssl req -new -key other-client.key -subj "/CN=hmq-other-client" -out other-client.csr 2>/dev/null
sign other-client.csr other-ca other-client.crt client.ext

# An expired certificate needs explicit dates, which only `openssl ca` takes.
mkdir -p cadb
: > cadb/index.txt
echo 1000 > cadb/serial
cat > ca.cnf <<X
[ca]
default_ca = test
[test]
dir = $PWD/cadb
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = pol
unique_subject = no
x509_extensions = ext
[pol]
commonName = supplied
[ext]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
X
openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in server.csr -out expired.crt \
  -startdate 20200101000000Z -enddate 20210101000000Z -notext 2>/dev/null

echo "this is not a certificate" > notpem.crt
chmod 0644 ./*.crt ./*.key
