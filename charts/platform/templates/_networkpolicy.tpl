{{/*
Helpers of the platform's NetworkPolicies (templates/networkpolicy/policies.yaml), all read from the one
table `networkPolicy` of values.yaml. Every guard fails naming the offending key.
*/}}

{{/*
The table `networkPolicy` with its template expressions rendered (tpl) and every policy merged over
`defaults`, as YAML. Computed once per render (kept on the root context).
Usage: {{ $np := include "platform.netpol.table" . | fromYaml }}
*/}}
{{- define "platform.netpol.table" -}}
{{- if not (hasKey . "platformNetpolYaml") -}}
{{- $np := tpl (toYaml .Values.networkPolicy) . | fromYaml -}}
{{- $policies := dict -}}
{{- range $name, $policy := $np.policies -}}
{{- $_ := set $policies $name (include "todo-chatbot-lib.merge" (dict "base" $np.defaults "top" $policy) | fromYaml) -}}
{{- end -}}
{{- $_ := set $np "policies" $policies -}}
{{- if not (hasKey $np.peers $np.dnsPeer) -}}
{{- fail (printf "networkPolicy.dnsPeer: unknown peer %q (networkPolicy.peers: %s)" $np.dnsPeer (keys $np.peers | sortAlpha | join ", ")) -}}
{{- end -}}
{{- range $name, $peer := $np.peers -}}
{{- with $peer.ipBlock -}}
{{- include "todo-chatbot-lib.validate.cidr" (dict "key" (printf "networkPolicy.peers.%s.ipBlock.cidr" $name) "value" .cidr) -}}
{{- range $i, $except := .except -}}
{{- include "todo-chatbot-lib.validate.cidr" (dict "key" (printf "networkPolicy.peers.%s.ipBlock.except[%d]" $name $i) "value" $except) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ = set . "platformNetpolYaml" (toYaml $np) -}}
{{- end -}}
{{- get . "platformNetpolYaml" -}}
{{- end -}}

{{/*
One peer of the table as a NetworkPolicyPeer, or nothing while the peer's `part` is off; fails naming
`key` when `name` is not a key of networkPolicy.peers.
Usage: {{ include "platform.netpol.peer" (dict "root" $ "np" $np "key" "networkPolicy.policies.x.ingress[0].from" "name" "kafka") }}
*/}}
{{- define "platform.netpol.peer" -}}
{{- if not (hasKey .np.peers .name) -}}
{{- fail (printf "%s: unknown peer %q (networkPolicy.peers: %s)" .key .name (keys .np.peers | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $peer := get .np.peers .name -}}
{{- if or (not $peer.part) (get .root.Values $peer.part).enabled -}}
{{- toYaml (omit $peer "part") -}}
{{- end -}}
{{- end -}}

{{/*
The podSelector of a policy: its label selector, or the podSelector of the peer it names (a peer of the
policy's own namespace: no namespaceSelector, no ipBlock).
Usage: {{ include "platform.netpol.podSelector" (dict "np" $np "name" $name "policy" $p) | nindent 4 }}
*/}}
{{- define "platform.netpol.podSelector" -}}
{{- $selector := .policy.podSelector -}}
{{- if kindIs "string" $selector -}}
{{- $key := printf "networkPolicy.policies.%s.podSelector" .name -}}
{{- if not (hasKey .np.peers $selector) -}}
{{- fail (printf "%s: unknown peer %q (networkPolicy.peers: %s)" $key $selector (keys .np.peers | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $peer := get .np.peers $selector -}}
{{- if or (hasKey $peer "namespaceSelector") (hasKey $peer "ipBlock") (not (hasKey $peer "podSelector")) -}}
{{- fail (printf "%s: peer %q is not a podSelector of the policy's own namespace (it has a namespaceSelector or an ipBlock)" $key $selector) -}}
{{- end -}}
{{- $selector = $peer.podSelector -}}
{{- end -}}
{{- toYaml $selector -}}
{{- end -}}

{{/*
The ports of a rule as NetworkPolicy ports: a number is a TCP port, {port, protocol} is taken as it is, and
a port set expands: `kafka-listeners` (the port of each of kafka.listeners), `dapr-control-plane` (the ports
sidecars dial on the control plane, todo-chatbot-lib.dapr.controlPlanePorts), `database` (networkPolicy.database.port).
Usage: {{ include "platform.netpol.ports" (dict "root" $ "ports" $rule.ports) | fromYamlArray }}
*/}}
{{- define "platform.netpol.ports" -}}
{{- $out := list -}}
{{- range .ports -}}
{{- if kindIs "map" . -}}
{{- $out = append $out (dict "protocol" (.protocol | default "TCP") "port" .port) -}}
{{- else if eq (toString .) "kafka-listeners" -}}
{{- range $name, $listener := $.root.Values.kafka.listeners -}}
{{- $out = append $out (dict "protocol" "TCP" "port" $listener.port) -}}
{{- end -}}
{{- else if eq (toString .) "database" -}}
{{- $out = append $out (dict "protocol" "TCP" "port" (int $.root.Values.networkPolicy.database.port)) -}}
{{- else if eq (toString .) "dapr-control-plane" -}}
{{- range include "todo-chatbot-lib.dapr.controlPlanePorts" $.root | fromJsonArray -}}
{{- $out = append $out (dict "protocol" "TCP" "port" .) -}}
{{- end -}}
{{- else -}}
{{- $out = append $out (dict "protocol" "TCP" "port" .) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The rules of one direction (ingress or egress) of a policy, as a YAML list (empty: no rules). Egress starts
with the DNS and API server rules of todo-chatbot-lib.netpol.egress (the policy's `dns`, `apiServer`). A
rule whose peers are all left out (their part is off) is dropped: it never turns into "any peer".
Usage: {{ include "platform.netpol.rules" (dict "root" $ "np" $np "name" $name "policy" $p "direction" "egress") }}
*/}}
{{- define "platform.netpol.rules" -}}
{{- $peerKey := ternary "from" "to" (eq .direction "ingress") -}}
{{- $rules := list -}}
{{- range $i, $rule := get .policy .direction | default list -}}
{{- $out := dict -}}
{{- if hasKey $rule $peerKey -}}
{{- $peers := list -}}
{{- range (get $rule $peerKey) -}}
{{- $key := printf "networkPolicy.policies.%s.%s[%d].%s" $.name $.direction $i $peerKey -}}
{{- with include "platform.netpol.peer" (dict "root" $.root "np" $.np "key" $key "name" .) -}}
{{- $peers = append $peers (fromYaml .) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out $peerKey $peers -}}
{{- end -}}
{{- if $rule.ports -}}
{{- $_ := set $out "ports" (include "platform.netpol.ports" (dict "root" $.root "ports" $rule.ports) | fromYamlArray) -}}
{{- end -}}
{{- if or (not (hasKey $out $peerKey)) (get $out $peerKey) -}}
{{- $rules = append $rules $out -}}
{{- end -}}
{{- end -}}
{{- if eq .direction "egress" -}}
{{- $dns := ternary (get .np.peers .np.dnsPeer) (dict) .policy.dns -}}
{{- $api := ternary .np.apiServerPorts (list) .policy.apiServer -}}
{{- include "todo-chatbot-lib.netpol.egress" (dict "dns" (omit $dns "part") "apiServerPorts" $api) -}}
{{- end -}}
{{- with $rules }}
{{ toYaml . }}
{{- end -}}
{{- end -}}
