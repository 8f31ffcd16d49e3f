#!/bin/sh
# docker-compose.yml's one-shot kafka-acls step (the apache/kafka image, after the broker is
# healthy): the ACLs of crates/tools/admin/kafka-acls.txt, one kafka-acls.sh call per
# `allow` line (its operations on its names), as the super user. Adding an ACL that
# exists changes nothing, so the step runs on every `up`. The `allow-local` lines (the
# simulator's) are left out: they are for scripts/dev's local stack only.
set -eu
umask 077
printf '%s\n' "security.protocol=SASL_SSL" "sasl.mechanism=SCRAM-SHA-512" \
  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD in .env}\";" \
  "ssl.truststore.type=PEM" "ssl.truststore.location=/etc/ordertrack/ca/ca.crt" >/tmp/admin.properties
sed 's/#.*//' /etc/ordertrack/kafka/kafka-acls.txt | while read -r kind user operations resource pattern names; do
  [ "$kind" = allow ] || continue
  set -- --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config /tmp/admin.properties --add \
    --allow-principal "User:$user" --resource-pattern-type "$pattern"
  for operation in $(echo "$operations" | tr ',' ' '); do set -- "$@" --operation "$operation"; done
  for name in $names; do set -- "$@" "--$resource" "$name"; done
  echo "kafka-acls: User:$user $operations $resource $pattern $names"
  /opt/kafka/bin/kafka-acls.sh "$@" >/dev/null
done
echo "kafka-acls: done"
