{{/* Chart name, overridable. */}}
{{- define "visionq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, or release-chart when the release name lacks the chart name. */}}
{{- define "visionq.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "visionq.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "visionq.selectorLabels" -}}
app.kubernetes.io/name: {{ include "visionq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "visionq.labels" -}}
helm.sh/chart: {{ include "visionq.chart" . }}
app.kubernetes.io/name: {{ include "visionq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: visionq
{{- end }}

{{- define "visionq.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "visionq.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The visionq image; the agent bundle is copied out of it unless agent.image is set. */}}
{{- define "visionq.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "visionq.agentImage" -}}
{{- default (include "visionq.image" .) .Values.agent.image }}
{{- end }}

{{/*
Client URL of NATS. Bundled: the client Service of the nats subchart, whose
name follows that chart's fullname rule (fullnameOverride, else the release
name if it contains "nats", else <release>-nats) and port config.nats.port.
*/}}
{{- define "visionq.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- $n := .Values.nats }}
{{- $svc := "" }}
{{- if $n.fullnameOverride }}
{{- $svc = $n.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "nats" $n.nameOverride }}
{{- if contains $name .Release.Name }}
{{- $svc = .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $svc = printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- $ns := default .Release.Namespace $n.namespaceOverride }}
{{- $port := 4222 }}
{{- if and $n.config $n.config.nats $n.config.nats.port }}
{{- $port = $n.config.nats.port }}
{{- end }}
{{- printf "nats://%s.%s.svc:%v" $svc $ns $port }}
{{- else }}
{{- required "nats.external.url is required when nats.enabled=false" .Values.nats.external.url }}
{{- end }}
{{- end }}

{{- define "visionq.natsCredsDir" -}}/etc/visionq/nats-creds{{- end }}
{{- define "visionq.natsTlsDir" -}}/etc/visionq/nats-tls{{- end }}

{{/* Selector of the dashboard's pods: never matches the controller's (component differs). */}}
{{- define "visionq.dashboardSelectorLabels" -}}
app.kubernetes.io/name: {{ include "visionq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: dashboard
{{- end }}

{{/*
Replicas of visionq's streams and attempts bucket (--nats-replicas). Explicit
nats.streamReplicas wins; else the bundled NATS passes its own size through (3
when it runs a cluster of 3 or more servers, else 1); an external NATS is left
to the controller's auto-detection from the server's cluster info.
*/}}
{{- define "visionq.streamReplicas" -}}
{{- $n := .Values.nats }}
{{- if $n.streamReplicas }}
{{- $n.streamReplicas }}
{{- else if $n.enabled }}
{{- $c := (($n.config | default dict).cluster | default dict) }}
{{- if and $c.enabled (ge (int ($c.replicas | default 1)) 3) }}3{{ else }}1{{ end }}
{{- else }}auto{{- end }}
{{- end }}

{{/*
Secret with the NATS `authorization` block (key auth.conf) and every natsAuth
password. A fixed rule on the release name only: the bundled nats chart mounts
it through a `$tplYaml` value in its own context, where this chart's values
(nameOverride, ...) are not visible.
*/}}
{{- define "visionq.natsAuthSecretName" -}}
{{- printf "%s-nats-auth" .Release.Name }}
{{- end }}
{{- define "visionq.natsAuthIncludeKey" -}}visionq-auth$include{{- end }}
{{- define "visionq.natsAuthIncludePath" -}}../nats-auth/auth.conf{{- end }}
{{- define "visionq.natsAuthVolume" -}}visionq-nats-auth{{- end }}
{{- define "visionq.natsAuthMountPath" -}}/etc/nats-auth{{- end }}

{{/* One name as a NATS subject token, as subjectToken() in src/queue/subjects.ts. */}}
{{- define "visionq.subjectToken" -}}
{{- regexReplaceAll "[\\s*>]" (. | replace "." "~") "_" }}
{{- end }}

{{/* ["a", "b"]: a NATS config list of quoted strings. */}}
{{- define "visionq.natsConfList" -}}
{{- $q := list }}
{{- range . }}{{ $q = append $q (quote .) }}{{ end }}
{{- printf "[%s]" (join ", " $q) }}
{{- end }}

{{/*
Permissions of a pool's workers: the same lists as workerPermissions() in
src/queue/nats-permissions.ts (a unit test compares the rendered auth.conf
with renderAuthorization()). Input: dict namespace, pool. Output: JSON.
*/}}
{{- define "visionq.natsWorkerPermissions" -}}
{{- $ns := include "visionq.subjectToken" .namespace }}
{{- $pool := include "visionq.subjectToken" .pool }}
{{- $durable := printf "visionq_%s_%s" $ns $pool }}
{{- $kv := "KV_VISIONQ_ATTEMPTS" }}
{{- $publishAllow := list
  "$JS.API.INFO"
  (printf "$JS.API.CONSUMER.INFO.VISIONQ_JOBS.%s" $durable)
  (printf "$JS.API.CONSUMER.MSG.NEXT.VISIONQ_JOBS.%s" $durable)
  (printf "$JS.ACK.VISIONQ_JOBS.%s.>" $durable)
  (printf "$JS.API.STREAM.INFO.%s" $kv)
  (printf "$JS.API.STREAM.MSG.GET.%s" $kv)
  (printf "$JS.API.DIRECT.GET.%s.>" $kv)
  (printf "$JS.API.DIRECT.GET.%s" $kv)
  "$KV.VISIONQ_ATTEMPTS.>"
  (printf "visionq.events.%s.>" $ns) }}
{{- $publishDeny := list
  "visionq.jobs.>"
  "$JS.API.STREAM.CREATE.>"
  "$JS.API.STREAM.UPDATE.>"
  "$JS.API.STREAM.DELETE.>"
  "$JS.API.STREAM.PURGE.>"
  "$JS.API.STREAM.MSG.DELETE.>"
  "$JS.API.CONSUMER.CREATE.>"
  "$JS.API.CONSUMER.DURABLE.CREATE.>"
  "$JS.API.CONSUMER.DELETE.>" }}
{{- $subscribeAllow := list (printf "_INBOX_visionq.%s.%s.>" $ns $pool) (printf "visionq.control.%s.%s.*.*" $ns $pool) }}
{{- $subscribeDeny := list "visionq.jobs.>" "_INBOX.>" }}
{{- toJson (dict "publish" (dict "allow" $publishAllow "deny" $publishDeny) "subscribe" (dict "allow" $subscribeAllow "deny" $subscribeDeny) "allowResponses" true) }}
{{- end }}

{{/* controllerPermissions(): everything. */}}
{{- define "visionq.natsControllerPermissions" -}}
{{- toJson (dict "publish" (dict "allow" (list ">") "deny" (list)) "subscribe" (dict "allow" (list ">") "deny" (list)) "allowResponses" false) }}
{{- end }}

{{/* One entry of `users = [...]`, laid out as renderAuthorization() does. Input: dict user, password, permissions (JSON). */}}
{{- define "visionq.natsConfUser" -}}
{{- $p := .permissions | fromJson }}
{{- printf "    { user = %s, password = %s, permissions = {\n" (quote .user) (quote .password) }}
{{- range $name := list "publish" "subscribe" }}
{{- $s := get $p $name }}
{{- printf "      %s = { allow = %s" $name (include "visionq.natsConfList" $s.allow) }}
{{- if $s.deny }}{{ printf ", deny = %s" (include "visionq.natsConfList" $s.deny) }}{{ end }}
{{- printf " }\n" }}
{{- end }}
{{- if $p.allowResponses }}{{ printf "      allow_responses = true\n" }}{{ end }}
{{- printf "    } }" }}
{{- end }}

{{/*
Which parts of the natsAuth wiring of values.yaml the bundled nats chart's
values still carry: JSON {include, mount, volume} (booleans).
*/}}
{{- define "visionq.natsAuthWiring" -}}
{{- $n := .Values.nats }}
{{- $include := get ((($n.config | default dict).merge) | default dict) (include "visionq.natsAuthIncludeKey" .) }}
{{- $mount := false }}
{{- range (($n.container | default dict).patch | default list) }}
{{- if and (eq (toString .op) "add") (eq (toString .path) "/volumeMounts/-") .value (eq (toString .value.name) (include "visionq.natsAuthVolume" .)) (eq (toString .value.mountPath) (include "visionq.natsAuthMountPath" .)) }}{{ $mount = true }}{{ end }}
{{- end }}
{{- $volume := false }}
{{- range (($n.podTemplate | default dict).patch | default list) }}
{{- if and (eq (toString .op) "add") (eq (toString .path) "/spec/volumes/-") .value (eq (toString .value.name) (include "visionq.natsAuthVolume" .)) }}{{ $volume = true }}{{ end }}
{{- end }}
{{- toJson (dict "include" (eq (toString $include) (include "visionq.natsAuthIncludePath" .)) "mount" $mount "volume" $volume) }}
{{- end }}
