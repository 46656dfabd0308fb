{{/* Names and labels */}}
{{- define "nexuscart.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nexuscart.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "nexuscart.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "nexuscart.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "web") */}}
{{- define "nexuscart.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nexuscart.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component: (dict "root" $ "component" "web") */}}
{{- define "nexuscart.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "nexuscart.selectorLabels" . }}
app.kubernetes.io/part-of: nexuscart
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* Non-secret environment (ConfigMap data; also inlined into the migrate hook Job, which runs
     before the release's ConfigMap exists on a first install). */}}
{{- define "nexuscart.config" -}}
{{- if or (hasKey .Values.config "ALLOWED_HOSTS") (hasKey .Values.config "PORT") -}}
{{- fail "set allowedHosts instead of config.ALLOWED_HOSTS; PORT is fixed by the chart" -}}
{{- end -}}
ALLOWED_HOSTS: {{ append .Values.allowedHosts "localhost" | uniq | join "," | quote }}
PORT: "8000"
{{- range $key, $value := .Values.config }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod template annotations: roll the pods when the configuration changes. */}}
{{- define "nexuscart.podAnnotations" -}}
checksum/config: {{ include "nexuscart.config" . | sha256sum }}
{{- end -}}

{{/* Pod-level fields shared by every workload. */}}
{{- define "nexuscart.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
volumes:
  - name: tmp
    emptyDir: {}
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
{{- end -}}

{{/* Container fields shared by every app container: (dict "root" $ "inlineConfig" false) */}}
{{- define "nexuscart.containerCommon" -}}
{{- $root := .root -}}
image: {{ printf "%s:%s" $root.Values.image.repository (default $root.Chart.AppVersion $root.Values.image.tag) | quote }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
{{- if .inlineConfig }}
env:
  {{- range $key, $value := include "nexuscart.config" $root | fromYaml }}
  - name: {{ $key }}
    value: {{ $value | toString | quote }}
  {{- end }}
envFrom:
{{- else }}
envFrom:
  - configMapRef:
      name: {{ include "nexuscart.fullname" $root }}
{{- end }}
  - secretRef:
      name: {{ required "existingSecret (the Secret holding SECRET_KEY, DATABASE_URL, ...) is required" $root.Values.existingSecret }}
securityContext:
  {{- toYaml $root.Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* HTTP probe against the app; Host: localhost because Django validates Host against ALLOWED_HOSTS. */}}
{{- define "nexuscart.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
  httpHeaders:
    - name: Host
      value: localhost
{{- end -}}
