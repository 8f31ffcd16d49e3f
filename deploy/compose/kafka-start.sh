#!/bin/sh
# docker-compose.yml's Kafka broker (the apache/kafka image, run as its own user): the key
# store from deploy/compose/generate-tls's certificate, the properties of
# deploy/compose/kafka.properties with the listeners and the super user's login, the
# storage formatted once with a SCRAM-SHA-512 user for `admin` and for each user of
# crates/tools/admin/kafka-acls.txt (its `allow` lines), then the broker.
# User U's password is KAFKA_<U>_PASSWORD (upper case, - as _), from .env.
set -eu
umask 077
mkdir -p /tmp/kafka-tls
cat /tls/server/server.key /tls/server/server.crt >/tmp/kafka-tls/keystore.pem

password_of() { # user
  var=KAFKA_$(echo "$1" | tr 'a-z-' 'A-Z_')_PASSWORD
  eval "value=\${$var:-}"
  [ -n "$value" ] || { echo "kafka-start: set $var in .env (deploy/compose/generate-env)" >&2; exit 1; }
  printf '%s' "$value"
}
jaas() { # user
  printf 'org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";' "$1" "$(password_of "$1")"
}

{
  cat /etc/ordertrack/kafka/kafka.properties
  echo "listeners=$KAFKA_LISTENERS"
  echo "advertised.listeners=$KAFKA_ADVERTISED_LISTENERS"
  echo "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$(jaas admin)"
} >/tmp/kafka-tls/server.properties
# The healthcheck's and the kafka-acls step's client settings.
{
  echo "security.protocol=SASL_SSL"
  echo "sasl.mechanism=SCRAM-SHA-512"
  echo "sasl.jaas.config=$(jaas admin)"
  echo "ssl.truststore.type=PEM"
  echo "ssl.truststore.location=/etc/ordertrack/ca/ca.crt"
} >/tmp/kafka-tls/admin.properties

if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  users="admin $(awk '$1 == "allow" { print $2 }' /etc/ordertrack/kafka/kafka-acls.txt | sort -u)"
  set --
  for user in $users; do
    set -- "$@" --add-scram "SCRAM-SHA-512=[name=$user,password=$(password_of "$user")]"
  done
  echo "kafka-start: formatting the storage with the SCRAM users $users"
  /opt/kafka/bin/kafka-storage.sh format --standalone --cluster-id="$CLUSTER_ID" \
    -c /tmp/kafka-tls/server.properties "$@" >/dev/null
fi
exec /opt/kafka/bin/kafka-server-start.sh /tmp/kafka-tls/server.properties
