{{/*
Guards both charts run on their values, each failing the render with a message that names the key: what
the API server, Strimzi or Kafka would refuse later, said before anything is installed. They render
nothing.
*/}}

{{/*
Fails naming `key` unless `value` is an IPv4 network written as one: a.b.c.d/n with each octet 0-255 and n
0-32, and no host bits (10.10.0.0/16, not 10.10.0.1/16, whose meaning depends on who reads it).
Usage: {{ include "todo-chatbot-lib.validate.cidr" (dict "key" "networkPolicy.database.cidr" "value" $cidr) }}
*/}}
{{- define "todo-chatbot-lib.validate.cidr" -}}
{{- $v := toString .value -}}
{{- $octet := "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])" -}}
{{- if not (regexMatch (printf "^%s(\\.%s){3}/([0-9]|[12][0-9]|3[0-2])$" $octet $octet) $v) -}}
{{- fail (printf "%s: %q is not an IPv4 CIDR (a.b.c.d/n, each octet 0-255, n 0-32)" .key $v) -}}
{{- end -}}
{{- $parts := splitList "/" $v -}}
{{- $prefix := index $parts 1 | int -}}
{{- $ip := 0 -}}
{{- range splitList "." (index $parts 0) -}}
{{- $ip = add (mul $ip 256) (int .) -}}
{{- end -}}
{{- $block := 1 -}}
{{- range until (sub 32 $prefix | int) -}}
{{- $block = mul $block 2 -}}
{{- end -}}
{{- if ne (mod $ip $block | int) 0 -}}
{{- $net := sub $ip (mod $ip $block) -}}
{{- $dotted := list (div $net 16777216) (mod (div $net 65536) 256) (mod (div $net 256) 256) (mod $net 256) | join "." -}}
{{- fail (printf "%s: %q has host bits set; the network is %s/%d" .key $v $dotted $prefix) -}}
{{- end -}}
{{- end -}}

{{/*
A Kubernetes quantity (250m, 1.5, 512Mi, 1G) as a number: cores for CPU, bytes for memory. Fails naming
`key` when `value` is not a quantity the API server would accept.
Usage: {{ include "todo-chatbot-lib.quantity" (dict "key" "resources.limits.cpu" "value" "500m") | float64 }}
*/}}
{{- define "todo-chatbot-lib.quantity" -}}
{{- $v := toString .value -}}
{{- $m := regexFindAll "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$" $v -1 -}}
{{- if not $m -}}
{{- fail (printf "%s: %q is not a Kubernetes quantity (a number with an optional suffix: m, k, M, G, Ki, Mi, Gi, ...)" .key $v) -}}
{{- end -}}
{{- $suffix := regexReplaceAll "^[0-9.]+" $v "" -}}
{{- $factors := dict "" 1.0 "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- mulf (trimSuffix $suffix $v | float64) (get $factors $suffix) -}}
{{- end -}}

{{/*
Fails naming the key when a limit of `resources` ({requests, limits}, at values key `key`) is below the
request of the same resource, or a quantity is malformed: the API server refuses such a pod (and an
operator or sidecar injector that builds one from these values fails later, out of sight).
Usage: {{ include "todo-chatbot-lib.validate.resources" (dict "key" "components.backend.resources" "resources" $c.resources) }}
*/}}
{{- define "todo-chatbot-lib.validate.resources" -}}
{{- $requests := .resources.requests | default dict -}}
{{- $limits := .resources.limits | default dict -}}
{{- range $name, $request := $requests -}}
{{- $_ := include "todo-chatbot-lib.quantity" (dict "key" (printf "%s.requests.%s" $.key $name) "value" $request) -}}
{{- end -}}
{{- range $name, $limit := $limits -}}
{{- $l := include "todo-chatbot-lib.quantity" (dict "key" (printf "%s.limits.%s" $.key $name) "value" $limit) | float64 -}}
{{- if hasKey $requests $name -}}
{{- $r := include "todo-chatbot-lib.quantity" (dict "key" (printf "%s.requests.%s" $.key $name) "value" (get $requests $name)) | float64 -}}
{{- if lt $l $r -}}
{{- fail (printf "%s.limits.%s: %v is below %s.requests.%s (%v); the API server refuses a container whose limit is below its request" $.key $name $limit $.key $name (get $requests $name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fails naming `key` when `ports` (a list of port numbers at that values key) holds a number twice or one
outside 1-65535.
Usage: {{ include "todo-chatbot-lib.validate.ports" (dict "key" "networkPolicy.kafka.ports" "ports" $ports) }}
*/}}
{{- define "todo-chatbot-lib.validate.ports" -}}
{{- $seen := dict -}}
{{- range $i, $p := .ports -}}
{{- if or (lt (int $p) 1) (gt (int $p) 65535) -}}
{{- fail (printf "%s[%d]: %v is not a port (1-65535)" $.key $i $p) -}}
{{- end -}}
{{- if hasKey $seen (toString $p) -}}
{{- fail (printf "%s[%d]: port %v is listed twice" $.key $i $p) -}}
{{- end -}}
{{- $_ := set $seen (toString $p) true -}}
{{- end -}}
{{- end -}}
