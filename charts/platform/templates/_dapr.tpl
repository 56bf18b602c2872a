{{/*
Helpers of the Dapr building blocks (templates/dapr/). Everything app-related is derived from dapr.apps;
guards live in "platform.dapr.validate", rendered by templates/dapr/validate.yaml.
*/}}

{{/*
Labels of every Dapr resource of the chart.
Usage: {{ include "platform.dapr.labels" . | nindent 4 }}
*/}}
{{- define "platform.dapr.labels" -}}
{{ include "platform.labels" . }}
app.kubernetes.io/component: dapr
{{- end -}}

{{/*
Enabled app ids that publish or subscribe (the scopes of the pub/sub component), as a JSON list.
Usage: {{ include "platform.dapr.pubsubScopes" . | fromJsonArray }}
*/}}
{{- define "platform.dapr.pubsubScopes" -}}
{{- $apps := list -}}
{{- range $app, $spec := .Values.dapr.apps -}}
{{- if and $spec.enabled (or $spec.publishes $spec.subscribes) -}}
{{- $apps = append $apps $app -}}
{{- end -}}
{{- end -}}
{{- $apps | toJson -}}
{{- end -}}

{{/*
Scopes of a component: the listed app ids that are enabled, as a JSON list; fails naming `key` when one
is not a key of dapr.apps.
Usage: {{ include "platform.dapr.scopes" (dict "root" . "key" "dapr.statestore.scopes" "scopes" $list) | fromJsonArray }}
*/}}
{{- define "platform.dapr.scopes" -}}
{{- $apps := .root.Values.dapr.apps -}}
{{- $out := list -}}
{{- range .scopes -}}
{{- if not (hasKey $apps .) -}}
{{- fail (printf "%s: unknown app id %q (dapr.apps: %s)" $.key . (keys $apps | sortAlpha | join ", ")) -}}
{{- end -}}
{{- if (get $apps .).enabled -}}
{{- $out = append $out . -}}
{{- end -}}
{{- end -}}
{{- $out | toJson -}}
{{- end -}}

{{/*
"true" when an app's sidecar publishes dead letters: it subscribes to a topic other than the dead-letter
topic (those Subscriptions carry `deadLetterTopic`, rendered by templates/dapr/subscription.yaml), so the
sidecar publishes what still fails after the Resiliency policy's retries to that topic; "" otherwise.
Usage: {{ if include "platform.dapr.deadLetters" (dict "root" $ "app" $spec) }}
*/}}
{{- define "platform.dapr.deadLetters" -}}
{{- $dlq := .root.Values.dapr.pubsub.deadLetterTopic -}}
{{- if and .app.enabled (omit (.app.subscribes | default dict) $dlq) -}}true{{- end -}}
{{- end -}}

{{/*
Topic scopes of the pub/sub component, `app=topic,topic;app=topic` (apps with no topic are left out:
every topic is protected, so they get none), for `publishingScopes` (kind
"publish": what each app publishes, plus the dead-letter topic for the apps whose sidecar publishes dead
letters, platform.dapr.deadLetters) or `subscriptionScopes` (kind "subscribe").
Usage: {{ include "platform.dapr.topicScopes" (dict "root" . "kind" "publish") }}
*/}}
{{- define "platform.dapr.topicScopes" -}}
{{- $entries := list -}}
{{- range $app, $spec := .root.Values.dapr.apps -}}
{{- if and $spec.enabled (or $spec.publishes $spec.subscribes) -}}
{{- $topics := list -}}
{{- if eq $.kind "publish" -}}
{{- $topics = $spec.publishes | default list -}}
{{- if include "platform.dapr.deadLetters" (dict "root" $.root "app" $spec) -}}
{{- $topics = append $topics $.root.Values.dapr.pubsub.deadLetterTopic -}}
{{- end -}}
{{- else -}}
{{- $topics = keys ($spec.subscribes | default dict) -}}
{{- end -}}
{{- if $topics -}}
{{- $entries = append $entries (printf "%s=%s" $app ($topics | uniq | sortAlpha | join ",")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $entries | join ";" -}}
{{- end -}}

{{/*
A secretKeyRef metadata entry of a component from a {secretName, secretKey} value.
Usage: {{ include "platform.dapr.secretMetadata" (dict "name" "connectionString" "ref" $ref) | nindent 4 }}
*/}}
{{- define "platform.dapr.secretMetadata" -}}
- name: {{ .name }}
  secretKeyRef:
    name: {{ .ref.secretName }}
    key: {{ .ref.secretKey }}
{{- end -}}

{{/*
Every guard of the Dapr values; renders nothing, fails naming the offending key.
Usage: {{ include "platform.dapr.validate" . }}
*/}}
{{- define "platform.dapr.validate" -}}
{{- $d := .Values.dapr -}}
{{- $topics := .Values.kafka.topics | default dict -}}
{{- $known := keys $topics | sortAlpha | join ", " -}}
{{- if .Values.kafka.enabled -}}
{{- if not (hasKey $topics $d.pubsub.deadLetterTopic) -}}
{{- fail (printf "dapr.pubsub.deadLetterTopic: unknown topic %q (kafka.topics: %s)" $d.pubsub.deadLetterTopic $known) -}}
{{- end -}}
{{- range $app, $spec := $d.apps -}}
{{- range $spec.publishes -}}
{{- if not (hasKey $topics .) -}}
{{- fail (printf "dapr.apps.%s.publishes: unknown topic %q (kafka.topics: %s)" $app . $known) -}}
{{- end -}}
{{- end -}}
{{- range $topic, $route := $spec.subscribes -}}
{{- if not (hasKey $topics $topic) -}}
{{- fail (printf "dapr.apps.%s.subscribes: unknown topic %q (kafka.topics: %s)" $app $topic $known) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := include "platform.dapr.scopes" (dict "root" . "key" "dapr.statestore.scopes" "scopes" ($d.statestore.scopes | default list)) -}}
{{- $_ = include "platform.dapr.scopes" (dict "root" . "key" "dapr.secretstore.scopes" "scopes" ($d.secretstore.scopes | default list)) -}}
{{- $_ = include "platform.dapr.scopes" (dict "root" . "key" "dapr.resiliency.invoke.app" "scopes" (list $d.resiliency.invoke.app)) -}}
{{- range $i, $m := $d.pubsub.metadata -}}
{{- if and (hasKey $m "value") (regexMatch "(?i)(password|secret|token|credential|connectionstring|clientkey|apikey)" $m.name) -}}
{{- fail (printf "dapr.pubsub.metadata[%d] (%s): a credential must be a secretKeyRef, never a plain value" $i $m.name) -}}
{{- end -}}
{{- if and (hasKey $m "value") (hasKey $m "secretKeyRef") -}}
{{- fail (printf "dapr.pubsub.metadata[%d] (%s): give a value or a secretKeyRef, not both" $i $m.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
