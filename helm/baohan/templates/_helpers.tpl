{{/* Names and labels ------------------------------------------------------------------- */}}

{{- define "baohan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "baohan.fullname" -}}
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

{{- define "baohan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "baohan.labels" -}}
helm.sh/chart: {{ include "baohan.chart" . }}
app.kubernetes.io/name: {{ include "baohan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: baohan
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "web"). */}}
{{- define "baohan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "baohan.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "baohan.componentLabels" -}}
{{ include "baohan.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "baohan.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "baohan.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "baohan.secretName" -}}
{{- default (printf "%s-env" (include "baohan.fullname" .)) .Values.secret.existingSecret }}
{{- end }}

{{- define "baohan.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Hosts ------------------------------------------------------------------------------ */}}

{{/* Every host the ingress serves, platform hosts first. */}}
{{- define "baohan.hosts" -}}
{{- $hosts := list }}
{{- range .Values.platformHosts }}{{ $hosts = append $hosts . }}{{ end }}
{{- if .Values.tenantDomain }}{{ $hosts = append $hosts (printf "*.%s" .Values.tenantDomain) }}{{ end }}
{{- range .Values.extraTenantHosts }}{{ $hosts = append $hosts .host }}{{ end }}
{{- toJson $hosts }}
{{- end }}

{{/* Django's ALLOWED_HOSTS beyond the platform hosts: the wildcard domain and extra centre hosts. */}}
{{- define "baohan.allowedHosts" -}}
{{- $hosts := list }}
{{- if .Values.tenantDomain }}{{ $hosts = append $hosts (printf ".%s" .Values.tenantDomain) }}{{ end }}
{{- range .Values.extraTenantHosts }}{{ $hosts = append $hosts .host }}{{ end }}
{{- join "," $hosts }}
{{- end }}

{{/* The environment every container gets (not secret), then the Secret's keys. ----------------- */}}
{{- define "baohan.env" -}}
- name: DJANGO_SETTINGS_MODULE
  value: baohan.settings.production
- name: PLATFORM_HOSTS
  value: {{ required "platformHosts: at least one host of the platform itself" (join "," .Values.platformHosts | default "") | quote }}
- name: DJANGO_ALLOWED_HOSTS
  value: {{ required "tenantDomain or extraTenantHosts: the centres' hosts" (include "baohan.allowedHosts" .) | quote }}
{{- with .Values.config.csrfTrustedOrigins }}
- name: DJANGO_CSRF_TRUSTED_ORIGINS
  value: {{ join "," . | quote }}
{{- end }}
- name: AWS_STORAGE_BUCKET_NAME
  value: {{ required "config.s3.bucket: the documents bucket" .Values.config.s3.bucket | quote }}
{{- with .Values.config.s3.region }}
- name: AWS_S3_REGION_NAME
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.s3.endpointUrl }}
- name: AWS_S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: BAOHAN_TRUSTED_PROXIES
  value: {{ .Values.config.trustedProxies | int64 | quote }}
- name: BAOHAN_VERIFY_RATE
  value: {{ .Values.config.verifyRate | quote }}
- name: SMS_SEND_HOURLY_CAP
  value: {{ .Values.config.smsSendHourlyCap | int64 | quote }}
- name: BAOHAN_BILLING_LIVE
  value: {{ ternary "1" "0" .Values.config.billingLive | quote }}
- name: DJANGO_SECURE_HSTS_SECONDS
  value: {{ .Values.config.hsts.seconds | int64 | quote }}
- name: DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS
  value: {{ ternary "1" "0" .Values.config.hsts.includeSubdomains | quote }}
- name: DJANGO_SECURE_HSTS_PRELOAD
  value: {{ ternary "1" "0" .Values.config.hsts.preload | quote }}
- name: DATABASE_CONN_MAX_AGE
  value: {{ .Values.config.database.connMaxAge | int64 | quote }}
- name: DATABASE_CONNECT_TIMEOUT
  value: {{ .Values.config.database.connectTimeout | int64 | quote }}
- name: DATABASE_POOL_MIN_SIZE
  value: {{ .Values.config.database.pool.minSize | int64 | quote }}
- name: DATABASE_POOL_TIMEOUT
  value: {{ .Values.config.database.pool.timeoutSeconds | int64 | quote }}
- name: BAOHAN_READYZ_CHECKS
  value: {{ join "," .Values.config.readyzChecks | quote }}
{{- if .Values.metrics.enabled }}
- name: BAOHAN_METRICS_PORT
  value: {{ .Values.metrics.port | int64 | quote }}
- name: PROMETHEUS_MULTIPROC_DIR
  value: /tmp/prometheus
{{- end }}
{{- range $name, $value := .Values.config.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{- define "baohan.envFrom" -}}
- secretRef:
    name: {{ include "baohan.secretName" . }}
{{- end }}

{{/* Pod-level settings shared by every workload. */}}
{{- define "baohan.podCommon" -}}
serviceAccountName: {{ include "baohan.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Spread a component's pods over nodes and zones: include with (dict "ctx" $ "component" "web"). */}}
{{- define "baohan.topologySpread" -}}
{{- $ctx := .ctx }}
{{- $component := .component }}
{{- with $ctx.Values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range . }}
  - {{ toYaml . | nindent 4 | trim }}
    labelSelector:
      matchLabels:
        {{- include "baohan.selectorLabels" (dict "ctx" $ctx "component" $component) | nindent 8 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Annotations that roll the pods when the chart's own Secret changes, and the scrape hints. */}}
{{- define "baohan.podAnnotations" -}}
{{- $ctx := .ctx }}
{{- if and $ctx.Values.secret.create (not $ctx.Values.secret.existingSecret) }}
checksum/secret: {{ toJson $ctx.Values.secret.data | sha256sum }}
{{- end }}
{{- if and .scrape $ctx.Values.metrics.enabled $ctx.Values.metrics.scrapeAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ $ctx.Values.metrics.port | int64 | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Writable folders on a read-only root filesystem. */}}
{{- define "baohan.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.metrics.enabled }}
- name: prometheus
  emptyDir: {}
{{- end }}
{{- end }}

{{- define "baohan.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.metrics.enabled }}
- name: prometheus
  mountPath: /tmp/prometheus
{{- end }}
{{- end }}

{{/* DATABASE_POOL_MAX_SIZE of one workload: (dict "ctx" $ "component" "web"|"worker"); 0 when the pool is off. */}}
{{- define "baohan.databasePool" -}}
{{- $pool := .ctx.Values.config.database.pool -}}
- name: DATABASE_POOL_MAX_SIZE
  value: {{ ternary (ternary $pool.webMaxSize $pool.workerMaxSize (eq .component "web")) 0 $pool.enabled | int64 | quote }}
{{- end }}

{{/* The most connections the release may open at full scale (values.yaml, config.database.pool);
rendering fails when they reach config.database.maxConnections. */}}
{{- define "baohan.connectionBudget" -}}
{{- $db := .Values.config.database -}}
{{- if $db.pool.enabled -}}
{{- $web := ternary .Values.web.autoscaling.maxReplicas .Values.web.replicas .Values.web.autoscaling.enabled | int64 -}}
{{- $workers := ternary .Values.worker.autoscaling.maxReplicas .Values.worker.replicas .Values.worker.autoscaling.enabled | int64 -}}
{{- $webTotal := mul $web (int64 .Values.web.processes) (int64 $db.pool.webMaxSize) -}}
{{- $workerTotal := mul $workers (add1 (int64 .Values.worker.concurrency)) (int64 $db.pool.workerMaxSize) -}}
{{- $beatTotal := ternary (int64 $db.pool.workerMaxSize) 0 .Values.beat.enabled | int64 -}}
{{- $migrateTotal := ternary (mul (add1 (int64 .Values.migrations.processes)) (int64 $db.pool.workerMaxSize)) 0 .Values.migrations.enabled | int64 -}}
{{- $total := add $webTotal $workerTotal $beatTotal $migrateTotal -}}
{{- if ge $total (int64 $db.maxConnections) -}}
{{- fail (printf "config.database: at full scale the release may open %d connections to PostgreSQL (web %d, worker %d, beat %d, migrations %d), not under config.database.maxConnections %d: lower the pool sizes or the replicas, or raise max_connections" $total $webTotal $workerTotal $beatTotal $migrateTotal (int64 $db.maxConnections)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
{{- end }}
