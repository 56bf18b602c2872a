{{/*
Helpers of the event backbone's Kafka side (templates/kafka/). Guards live in "platform.kafka.validate",
rendered by templates/kafka/validate.yaml, so a bad value fails the whole release.
*/}}

{{/*
Labels of every Strimzi resource of the cluster: the chart's labels plus the cluster it belongs to.
Usage: {{ include "platform.kafka.labels" . | nindent 4 }}
*/}}
{{- define "platform.kafka.labels" -}}
{{ include "platform.labels" . }}
app.kubernetes.io/component: kafka
strimzi.io/cluster: {{ .Values.kafka.name }}
{{- end -}}

{{/*
Replicas over the enabled node pools that have `role` (broker or controller).
Usage: {{ include "platform.kafka.nodes" (dict "root" . "role" "broker") | int }}
*/}}
{{- define "platform.kafka.nodes" -}}
{{- $count := 0 -}}
{{- range $name, $pool := .root.Values.kafka.nodePools -}}
{{- if and (or (not (hasKey $pool "enabled")) $pool.enabled) (has $.role $pool.roles) -}}
{{- $count = add $count $pool.replicas -}}
{{- end -}}
{{- end -}}
{{- $count -}}
{{- end -}}

{{/*
Bootstrap address (host:port) of the listener the apps use: `<cluster>-kafka-bootstrap:<port>`.
Usage: {{ include "platform.kafka.bootstrap" . }}
*/}}
{{- define "platform.kafka.bootstrap" -}}
{{- $listener := get .Values.kafka.listeners .Values.kafka.clientListener -}}
{{- printf "%s-kafka-bootstrap:%d" .Values.kafka.name (int $listener.port) -}}
{{- end -}}

{{/*
Retention in milliseconds of a duration `<n>ms|s|m|h|d`; fails naming `key` when it is not one.
Usage: {{ include "platform.kafka.retentionMs" (dict "key" "kafka.topics.dlq.retention" "value" "30d") }}
*/}}
{{- define "platform.kafka.retentionMs" -}}
{{- $value := toString .value -}}
{{- if not (regexMatch "^[0-9]+(ms|s|m|h|d)$" $value) -}}
{{- fail (printf "%s: %q is not a duration (a whole number and ms, s, m, h or d, such as 7d)" .key $value) -}}
{{- end -}}
{{- $unit := regexReplaceAll "^[0-9]+" $value "" -}}
{{- $factor := get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000) $unit -}}
{{- mul (regexFind "^[0-9]+" $value | int64) $factor -}}
{{- end -}}

{{/*
Replicas of one topic: its own `replicas`, else kafka.replication.factor.
Usage: {{ include "platform.kafka.topicReplicas" (dict "root" . "topic" $topic) | int }}
*/}}
{{- define "platform.kafka.topicReplicas" -}}
{{- .topic.replicas | default .root.Values.kafka.replication.factor -}}
{{- end -}}

{{/*
ACLs of a KafkaUser, as YAML: Read on the topics of `read`, Write on those of `write`, Describe on both, Read on
each consumer group of `groups` and Describe on each of `describeGroups` (see offsets and members, join none);
topics and groups in name order. The one ACL builder, for the Dapr pub/sub user (platform.kafka.daprAccess), the
users of kafka.users and Kafka UI's (platform.kafka.kafkaUiAccess).
Usage: {{ include "platform.kafka.acls" (dict "read" $topics "write" $topics "groups" $groups) | indent 6 }}
*/}}
{{- define "platform.kafka.acls" -}}
{{- $ops := dict -}}
{{- range .read | default list -}}
{{- $_ := set $ops . (append (get $ops . | default list) "Read") -}}
{{- end -}}
{{- range .write | default list -}}
{{- $_ := set $ops . (append (get $ops . | default list) "Write") -}}
{{- end -}}
{{- range $topic := keys $ops | sortAlpha }}
- resource:
    type: topic
    name: {{ $topic }}
    patternType: literal
  operations: {{ append (get $ops $topic) "Describe" | uniq | sortAlpha | toJson }}
{{- end }}
{{- $groupOps := dict -}}
{{- range .groups | default list -}}
{{- $_ := set $groupOps . (append (get $groupOps . | default list) "Read") -}}
{{- end -}}
{{- range .describeGroups | default list -}}
{{- $_ := set $groupOps . (append (get $groupOps . | default list) "Describe") -}}
{{- end -}}
{{- range $group := keys $groupOps | sortAlpha }}
- resource:
    type: group
    name: {{ $group }}
    patternType: literal
  operations: {{ get $groupOps $group | uniq | sortAlpha | toJson }}
{{- end }}
{{- end -}}

{{/*
What Kafka UI's KafkaUser may do, as YAML {read, describeGroups}: read (and describe) every topic of kafka.topics,
and describe the consumer group of every enabled app of dapr.apps that subscribes (Dapr's group is the app id).
Nothing it could change: no Write, no Alter, no group Read (which would let it commit offsets), no cluster operation.
Usage: {{ include "platform.kafka.acls" (include "platform.kafka.kafkaUiAccess" . | fromYaml) | indent 6 }}
*/}}
{{- define "platform.kafka.kafkaUiAccess" -}}
{{- $groups := list -}}
{{- range $app, $spec := .Values.dapr.apps -}}
{{- if and $spec.enabled $spec.subscribes -}}
{{- $groups = append $groups $app -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "read" (keys .Values.kafka.topics | sortAlpha) "describeGroups" $groups) -}}
{{- end -}}

{{/*
What the Dapr pub/sub KafkaUser may do, derived from dapr.apps, as YAML {read, write, groups}: write the
topics the enabled apps publish to, and the dead-letter topic when an app's sidecar publishes dead letters
(platform.dapr.deadLetters: its Subscriptions name it); read the topics they subscribe to (the dead-letter
topic too, for its subscriber), and use each subscriber's consumer group (Dapr's consumer group is the app
id). The same needs, read off the rendered objects, are what the runtime suite probes on a real broker
(todo_cloud.runtime.kafka_plan.pubsub_needs).
Usage: {{ include "platform.kafka.acls" (include "platform.kafka.daprAccess" . | fromYaml) | indent 6 }}
*/}}
{{- define "platform.kafka.daprAccess" -}}
{{- $read := list -}}
{{- $write := list -}}
{{- $groups := list -}}
{{- range $app, $spec := .Values.dapr.apps -}}
{{- if $spec.enabled -}}
{{- $write = concat $write ($spec.publishes | default list) -}}
{{- if include "platform.dapr.deadLetters" (dict "root" $ "app" $spec) -}}
{{- $write = append $write $.Values.dapr.pubsub.deadLetterTopic -}}
{{- end -}}
{{- range $topic, $route := $spec.subscribes -}}
{{- $read = append $read $topic -}}
{{- $groups = append $groups $app -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "read" $read "write" $write "groups" $groups) -}}
{{- end -}}

{{/*
Fails naming `key` unless `value` is a value Kafka accepts for the topic configuration `name`, as the
catalogue the pinned broker documents says (kafka/topic-configs.yaml, generated from its jars): a known
name, a value of its type (int, long, double, boolean, string, list), within its range or among its allowed
values (each element, for a list).
Usage: {{ include "platform.kafka.validateTopicConfig" (dict "root" $ "key" $key "name" "cleanup.policy" "value" "compact") }}
*/}}
{{- define "platform.kafka.validateTopicConfig" -}}
{{- $catalogue := .root.Files.Get "kafka/topic-configs.yaml" | fromYaml -}}
{{- $spec := get $catalogue.configs .name -}}
{{- if not $spec -}}
{{- fail (printf "%s: %q is not a topic configuration of Kafka %s (the broker would refuse the topic; charts/platform/kafka/topic-configs.yaml lists them)" .key .name $catalogue.version) -}}
{{- end -}}
{{- $v := .value -}}
{{- $type := $spec.type -}}
{{- $shown := toString $v -}}
{{- $number := "" -}}
{{- if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) -}}
{{- $number = float64 $v -}}
{{- if eq (float64 $v) (floor (float64 $v)) -}}{{- $shown = printf "%d" (int64 $v) -}}{{- end -}}
{{- else if and (kindIs "string" $v) (regexMatch "^-?[0-9]+(\\.[0-9]+)?([eE]-?[0-9]+)?$" $v) -}}
{{- $number = float64 $v -}}
{{- end -}}
{{- $also := list -}}
{{- range $spec.also | default list -}}{{- $also = append $also (toString .) -}}{{- end -}}
{{- if has (toString $shown) $also -}}
{{- else if has $type (list "int" "short" "long" "double") -}}
{{- if kindIs "string" $number -}}
{{- fail (printf "%s: %q is not a number (Kafka's type for %s is %s)" .key $shown .name $type) -}}
{{- end -}}
{{- if and (ne $type "double") (ne (float64 $number) (floor (float64 $number))) -}}
{{- fail (printf "%s: %s is not a whole number (Kafka's type for %s is %s)" .key $shown .name $type) -}}
{{- end -}}
{{- if or (and (hasKey $spec "min") (lt (float64 $number) (float64 $spec.min))) (and (hasKey $spec "max") (gt (float64 $number) (float64 $spec.max))) -}}
{{- fail (printf "%s: %s is outside what Kafka %s accepts for %s: %s" .key $shown $catalogue.version .name $spec.valid) -}}
{{- end -}}
{{- else if eq $type "boolean" -}}
{{- if not (has (lower (toString $v)) (list "true" "false")) -}}
{{- fail (printf "%s: %q is not a boolean (Kafka's type for %s)" .key $shown .name) -}}
{{- end -}}
{{- else if $spec.oneOf -}}
{{- $items := ternary (splitList "," (toString $v)) (list (toString $v)) (eq $type "list") -}}
{{- range $items -}}
{{- if and (trim .) (not (has (trim .) $spec.oneOf)) -}}
{{- fail (printf "%s: %q is not among the values Kafka %s accepts for %s: %s" $.key (trim .) $catalogue.version $.name $spec.valid) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fails naming `key` when a node pool's JVM heap cannot work: -Xms above -Xmx (the JVM refuses to start), or
-Xmx at or above the container's memory limit (the kernel kills the broker before the heap is full).
Usage: {{ include "platform.kafka.validateHeap" (dict "key" "kafka.nodePools.dual-role" "pool" $pool) }}
*/}}
{{- define "platform.kafka.validateHeap" -}}
{{- $jvm := .pool.jvmOptions | default dict -}}
{{- $bytes := dict -}}
{{- range $flag := list "-Xms" "-Xmx" -}}
{{- with get $jvm $flag -}}
{{- $v := lower (toString .) -}}
{{- if not (regexMatch "^[0-9]+[kmg]?$" $v) -}}
{{- fail (printf "%s.jvmOptions.%s: %q is not a JVM size (a number with k, m or g)" $.key $flag .) -}}
{{- end -}}
{{- $unit := get (dict "k" 1024 "m" 1048576 "g" 1073741824) (regexReplaceAll "^[0-9]+" $v "") | default 1 -}}
{{- $_ := set $bytes $flag (mul (regexFind "^[0-9]+" $v | int64) $unit) -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey $bytes "-Xms") (hasKey $bytes "-Xmx") (gt (get $bytes "-Xms") (get $bytes "-Xmx")) -}}
{{- fail (printf "%s.jvmOptions.-Xms: %v is above -Xmx %v; the JVM refuses to start" .key (get $jvm "-Xms") (get $jvm "-Xmx")) -}}
{{- end -}}
{{- $limit := ((.pool.resources | default dict).limits | default dict).memory -}}
{{- if and $limit (hasKey $bytes "-Xmx") -}}
{{- $l := include "todo-chatbot-lib.quantity" (dict "key" (printf "%s.resources.limits.memory" .key) "value" $limit) | float64 -}}
{{- if ge (float64 (get $bytes "-Xmx")) $l -}}
{{- fail (printf "%s.jvmOptions.-Xmx: %v is not below the memory limit %v (%s.resources.limits.memory); the broker would be killed before its heap is full" .key (get $jvm "-Xmx") $limit .key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Every guard of the Kafka values; renders nothing, fails naming the offending key.
Usage: {{ include "platform.kafka.validate" . }}
*/}}
{{- define "platform.kafka.validate" -}}
{{- $k := .Values.kafka -}}
{{- $env := include "todo-chatbot-lib.environment" . -}}
{{- $brokers := include "platform.kafka.nodes" (dict "root" . "role" "broker") | int -}}
{{- $controllers := include "platform.kafka.nodes" (dict "root" . "role" "controller") | int -}}
{{- if lt $brokers 1 -}}
{{- fail "kafka.nodePools: no enabled pool has the broker role" -}}
{{- end -}}
{{- if lt $controllers 1 -}}
{{- fail "kafka.nodePools: no enabled pool has the controller role" -}}
{{- end -}}
{{- if eq (mod $controllers 2) 0 -}}
{{- fail (printf "kafka.nodePools: %d controllers; a KRaft quorum needs an odd number (1, 3 or 5)" $controllers) -}}
{{- end -}}
{{- if not (hasKey $k.listeners $k.clientListener) -}}
{{- fail (printf "kafka.clientListener: %q is not a key of kafka.listeners (%s)" $k.clientListener (keys $k.listeners | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $ports := dict -}}
{{- range $name, $l := $k.listeners -}}
{{- $port := toString (int $l.port) -}}
{{- if hasKey $ports $port -}}
{{- fail (printf "kafka.listeners.%s.port: %s is also the port of listener %s; Strimzi refuses listeners that share a port" $name $port (get $ports $port)) -}}
{{- end -}}
{{- $_ := set $ports $port $name -}}
{{- if has (int $l.port) (list 9404 9999) -}}
{{- fail (printf "kafka.listeners.%s.port: %s is reserved by Strimzi (9404: the Prometheus JMX exporter, 9999: JMX) and refused" $name $port) -}}
{{- end -}}
{{- if and (eq $l.authentication "tls") (not $l.tls) -}}
{{- fail (printf "kafka.listeners.%s.authentication: tls authentication needs a TLS listener (tls: true)" $name) -}}
{{- end -}}
{{- if and (eq $l.authentication "none") (ne $env "local") -}}
{{- fail (printf "kafka.listeners.%s.authentication: none (anonymous access) is refused in %s" $name $env) -}}
{{- end -}}
{{- end -}}
{{- $client := get $k.listeners $k.clientListener -}}
{{- if and $k.authorization (eq $client.authentication "none") -}}
{{- fail (printf "kafka.listeners.%s.authentication: none, but kafka.authorization needs authenticated users on the client listener" $k.clientListener) -}}
{{- end -}}
{{- range $pool, $spec := $k.nodePools -}}
{{- if or (not (hasKey $spec "enabled")) $spec.enabled -}}
{{- $key := printf "kafka.nodePools.%s" $pool -}}
{{- include "todo-chatbot-lib.validate.resources" (dict "key" (printf "%s.resources" $key) "resources" ($spec.resources | default dict)) -}}
{{- include "platform.kafka.validateHeap" (dict "key" $key "pool" $spec) -}}
{{- end -}}
{{- end -}}
{{- if $k.cruiseControl.enabled -}}
{{- include "todo-chatbot-lib.validate.resources" (dict "key" "kafka.cruiseControl.resources" "resources" ($k.cruiseControl.resources | default dict)) -}}
{{- end -}}
{{- if $k.exporter.enabled -}}
{{- include "todo-chatbot-lib.validate.resources" (dict "key" "kafka.exporter.resources" "resources" ($k.exporter.resources | default dict)) -}}
{{- end -}}
{{- range $operator := list "topicOperator" "userOperator" -}}
{{- include "todo-chatbot-lib.validate.resources" (dict "key" (printf "kafka.entityOperator.%s" $operator) "resources" (get $k.entityOperator $operator | default dict)) -}}
{{- end -}}
{{- $r := $k.replication -}}
{{- $owned := dict "default.replication.factor" "kafka.replication.factor" "offsets.topic.replication.factor" "kafka.replication.factor" "transaction.state.log.replication.factor" "kafka.replication.factor" "min.insync.replicas" "kafka.replication.minInsyncReplicas" "transaction.state.log.min.isr" "kafka.replication.minInsyncReplicas" -}}
{{- range $key, $owner := $owned -}}
{{- if hasKey ($k.config | default dict) $key -}}
{{- fail (printf "kafka.config.%s: set %s instead (it follows the environment and is checked against the brokers)" $key $owner) -}}
{{- end -}}
{{- end -}}
{{- if gt (int $r.factor) $brokers -}}
{{- fail (printf "kafka.replication.factor: %d replicas but only %d broker(s)" (int $r.factor) $brokers) -}}
{{- end -}}
{{- range $name, $topic := $k.topics -}}
{{- $key := printf "kafka.topics.%s" $name -}}
{{- $_ := include "platform.kafka.retentionMs" (dict "key" (printf "%s.retention" $key) "value" $topic.retention) -}}
{{- range $owned := list "retention.ms" "min.insync.replicas" -}}
{{- if hasKey ($topic.config | default dict) $owned -}}
{{- fail (printf "%s.config.%s: set %s instead" $key $owned (ternary (printf "%s.retention" $key) "kafka.replication.minInsyncReplicas" (eq $owned "retention.ms"))) -}}
{{- end -}}
{{- end -}}
{{- range $config, $value := $topic.config | default dict -}}
{{- include "platform.kafka.validateTopicConfig" (dict "root" $ "key" (printf "%s.config.%s" $key $config) "name" $config "value" $value) -}}
{{- end -}}
{{- $lag := $topic.config | default dict -}}
{{- if and (hasKey $lag "min.compaction.lag.ms") (hasKey $lag "max.compaction.lag.ms") -}}
{{- if gt (float64 (get $lag "min.compaction.lag.ms")) (float64 (get $lag "max.compaction.lag.ms")) -}}
{{- fail (printf "%s.config.min.compaction.lag.ms: above max.compaction.lag.ms; Kafka refuses the topic" $key) -}}
{{- end -}}
{{- end -}}
{{- $replicas := include "platform.kafka.topicReplicas" (dict "root" $ "topic" $topic) | int -}}
{{- if gt $replicas $brokers -}}
{{- fail (printf "%s.replicas: %d replicas but only %d broker(s)" $key $replicas $brokers) -}}
{{- end -}}
{{- if gt (int $r.minInsyncReplicas) $replicas -}}
{{- fail (printf "kafka.replication.minInsyncReplicas: %d is more than the %d replica(s) of topic %s: no write could succeed" (int $r.minInsyncReplicas) $replicas $name) -}}
{{- end -}}
{{- if and (ne $env "local") (ge (int $r.minInsyncReplicas) $replicas) -}}
{{- fail (printf "kafka.replication.minInsyncReplicas: %d must be below the %d replica(s) of topic %s in %s, or one broker down stops every write" (int $r.minInsyncReplicas) $replicas $name $env) -}}
{{- end -}}
{{- end -}}
{{- range $user, $spec := $k.users -}}
{{- range $access := list "read" "write" -}}
{{- range (get $spec $access | default list) -}}
{{- if not (hasKey $k.topics .) -}}
{{- fail (printf "kafka.users.%s.%s: unknown topic %q (topics: %s)" $user $access . (keys $k.topics | sortAlpha | join ", ")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
