// The iam-credentials-exporter monitoring mixin: prometheusAlerts,
// prometheusRules, all rendered from the _config of config.libsonnet.
(import 'config.libsonnet') +
(import 'alerts.libsonnet') +
(import 'rules.libsonnet')
