// Configuration of the iam-credentials-exporter monitoring mixin.
//
// The alerting rules, recording rules, the Kubernetes PrometheusRule and the
// Grafana dashboards are all rendered from this one object, so a selector or
// a threshold is changed here and nowhere else. Override it the usual way:
//
//   (import 'mixin/mixin.libsonnet') + {
//     _config+:: { selector: 'job="iam", namespace="security"' },
//   }
//
// Fields (durations as Prometheus duration strings, thresholds in seconds):
//
//   selector              PromQL label matchers (without braces) that select
//                         the exporter's series and its `up` series. With a
//                         PodMonitor the job is "<namespace>/<name>".
//   dashboardTags         tags of every dashboard (and of its links).
//   dashboardTitlePrefix  prefix of every dashboard title.
//   runbookURLPattern     runbook_url of an alert; %s is the lower-cased alert
//                         name, which is the anchor of its runbook section.
//                         Point it at where your copy of docs/runbook.md is
//                         served (your fork, wiki, internal docs site).
//   rootUser              the user label of the root account's row.
//   ownerLabels           labels naming who must act on a finding, joined
//                         into the alerts from the exporter's info series:
//                         aws_iam_user_tags into user, key and credential
//                         alerts (on account_id, user), aws_iam_role_tags
//                         into role alerts (on account_id, role),
//                         aws_iam_account_tags into account-wide and root
//                         alerts (on account_id). A tag `team` chosen with
//                         --metrics.user-tags=team (and --metrics.role-tags,
//                         --metrics.account-tags) is the label tag_team. An
//                         alert without an info series to join (the flag is
//                         off, the user is not listed yet, the tag is
//                         missing) fires all the same, with the label empty,
//                         and its description says the owner is unknown.
//                         [] joins nothing (the rules as without owners).
//   replicaLabels         labels that differ between replicas scraping the
//                         same data (target labels of a Deployment,
//                         StatefulSet, ServiceMonitor or PodMonitor). Dropped
//                         from credential findings, so that two replicas
//                         raise one alert per finding and a restarted pod
//                         (new instance and pod name) continues the same
//                         alert. Health alerts keep them.
//   keyRotationThresholdSeconds     active key older than this is not rotated
//                                   (CIS 2.12, FSBP IAM.3: 90 days).
//   keyUnusedThresholdSeconds       active key idle this long is unused
//                                   (CIS 2.11 and FSBP IAM.22: 45 days;
//                                   FSBP IAM.8: 90 days).
//   passwordUnusedThresholdSeconds  console password unused this long
//                                   (as keyUnusedThresholdSeconds).
//   userInactiveThresholdSeconds    no password or key use (nor upload of a
//                                   still active signing certificate) this
//                                   long (90 days).
//   twoActiveKeysGraceSeconds       a rotation may keep two active keys for
//                                   this long (age of the newer key).
//   mfaEnrolmentGraceSeconds        a new console password may go without MFA
//                                   this long.
//   passwordMinimumLength           a password policy asking for fewer
//                                   characters is too weak (CIS 2.8 and FSBP
//                                   IAM.15: 14; FSBP IAM.7: 8).
//   passwordReusePrevention         a password policy remembering fewer
//                                   previous passwords is too weak (CIS 2.9,
//                                   FSBP IAM.16: 24).
//   passwordMaxAgeSeconds           a password policy whose passwords live
//                                   longer than this, or never expire, fails
//                                   FSBP IAM.17 (90 days; CIS asks for no
//                                   expiry at all).
//   quotaUsageThreshold             an IAM quota (roles, users, policies, ...
//                                   of iam:GetAccountSummary) used above this
//                                   ratio is nearly exhausted (0.9).
//
//   The alerts' control labels (cis="2.12", fsbp="IAM.3") follow these
//   thresholds: an alert carries a control's label only while its threshold
//   is the one the benchmark sets (controlThresholds). Set
//   keyUnusedThresholdSeconds and passwordUnusedThresholdSeconds to 90 days
//   and the unused-credential alerts check FSBP IAM.8 instead of CIS 2.11 and
//   IAM.22; passwordMinimumLength 8 checks FSBP IAM.7 instead of CIS 2.8 and
//   IAM.15.
//   controlThresholds               what each benchmark asks, for those
//                                   labels and for the posture recording
//                                   rules (account_id:aws_iam_control_*),
//                                   which always measure the benchmark's own
//                                   threshold whatever the alerts use. CIS is
//                                   the CIS AWS Foundations Benchmark v7.0.0,
//                                   FSBP Security Hub's Foundational Security
//                                   Best Practices.
//   consoleUserKeyGraceSeconds      an active access key of a console user may
//                                   stay unused this long after its creation
//                                   (CIS 1.11: no key at initial user setup).
//   signingCertificateRotationThresholdSeconds
//                                   active X.509 signing certificate uploaded
//                                   longer ago than this is not rotated (90
//                                   days, as for access keys: a certificate
//                                   signs API requests like a key does, and
//                                   CIS has no separate period for it).
//   roleUnusedThresholdSeconds      an IAM role not used for this long is
//                                   unused (90 days). AWS tracks role use for
//                                   400 days: a role with no use reported
//                                   counts from its creation, so a role
//                                   younger than this never alerts.
//   roleUnusedExcludedPaths         regular expression of role paths left
//                                   out of the unused-role alerts; by default
//                                   service-linked roles, which AWS services
//                                   create and use on their own schedule
//                                   ('/aws-service-role/.*'). '' leaves out
//                                   none.
//   serverCertificateExpiryWarningSeconds
//                                   a server certificate stored in IAM that
//                                   expires within this warns (30 days).
//   rootRecentUseWindowSeconds      root use newer than this alerts (the
//                                   credential report lags up to 4 h).
//   rootAuditMaxAgeSeconds          a root-credentials audit (collector
//                                   root-credentials) that found no password,
//                                   key or certificate silences
//                                   AwsIamRootWithoutMFA for this long after it
//                                   ran. Longer than the exporter's
//                                   --collector.root-credentials.interval (6h).
//   serviceCredentialRotationThresholdSeconds
//                                   active service-specific credential (Git or
//                                   Keyspaces password, API key) older than
//                                   this is not rotated (90 days, as for
//                                   access keys).
//   serviceCredentialExpiryWarningSeconds
//                                   an active credential that expires within
//                                   this is about to break its users (7 days).
//   serviceCredentialMaxLifetimeSeconds
//                                   an active API key whose expiry lies
//                                   further than this from its creation
//                                   counts as never expiring (365 days: the
//                                   longest preset lifetime AWS offers for a
//                                   Bedrock API key; CreateServiceSpecificCredential
//                                   takes up to 36,600 days).
//   serviceCredentialServicesThatCannotExpire
//                                   services whose credentials have no
//                                   expiry at all (CodeCommit and Keyspaces
//                                   passwords): not flagged as never
//                                   expiring. Every other service's
//                                   credentials are API keys, which can.
//   dataStaleRefreshIntervals       data is stale after this many of the
//   dataStaleGraceSeconds           exporter's own refresh intervals
//                                   (aws_iam_exporter_refresh_interval_seconds)
//                                   plus this grace.
//   reportStaleThresholdSeconds     a credential report fetched from AWS older
//                                   than this is stale (AWS rebuilds it at most
//                                   every 4 h). Never applies to a report file.
//   findingFor            `for:` of credential findings (debounces one odd
//                         snapshot; the thresholds themselves are ages).
//   keepFiringFor         `keep_firing_for:` of credential findings: how long a
//                         firing finding stays firing while its series are
//                         missing (exporter restart, rollout, slow first
//                         refresh). Must exceed a restart plus the first
//                         refresh of your largest organization. A fixed
//                         finding resolves this much later.
//   exporterDownFor       `for:` of the exporter-down alert.
//   shardGroupLabels      labels that are the same for every shard of one
//                         sharded deployment (--shard.count) and differ
//                         between deployments: a shard that owns no account
//                         raises AwsIamExporterNoAccounts only when no shard
//                         with the same values of these labels exports one.
//   exporterHealthFor     `for:` of refresh-failing, collector-failing and
//                         rows-skipped alerts.
//   exporterNoAccountsFor `for:` of the alert on an exporter that is up but
//                         exports no account; longer than the first refresh
//                         of your largest organization (none is exported
//                         before it ends).
//   severities            severity label of each alert, by alert name.
//   perKeyAlerts          one alert per key / user / password finding.
//   perAccountSummaries   one alert per account and kind of finding, with the
//                         count; for organizations where per-key alerts would
//                         number in the thousands. Usually the opposite of
//                         perKeyAlerts.
//   accountAlerts         account-wide findings: password policy, server
//                         certificates stored in IAM.
//   rootAlerts            root account alerts (keys, MFA, use, centralized
//                         root access of the organization).
//   fsbpAlerts            alerts on what only Security Hub's FSBP asks for:
//                         password character classes (IAM.7, IAM.11 to
//                         IAM.14), password expiry (IAM.17).
//   userWithoutMFAAlerts  one alert per IAM user without MFA and without a
//                         console password (FSBP IAM.19; console users are
//                         AwsIamConsoleUserWithoutMFA's). Off: in most
//                         accounts that is every API user. The posture rules
//                         measure IAM.19 either way.
//   exporterAlerts        the exporter's own health alerts.
//   serviceCredentialAlerts  alerts on service-specific credentials (one per
//                         credential; the service-specific-credentials
//                         collector is on by default).
{
  _config+:: {
    selector: 'job="iam-credentials-exporter"',

    dashboardTags: ['iam-credentials-exporter'],
    dashboardTitlePrefix: 'AWS IAM / ',

    runbookURLPattern: 'docs/runbook.md#%s',

    rootUser: '<root_account>',
    ownerLabels: ['tag_team'],
    replicaLabels: ['instance', 'pod', 'namespace', 'service', 'endpoint', 'container'],

    keyRotationThresholdSeconds: 90 * 86400,
    keyUnusedThresholdSeconds: 45 * 86400,
    passwordUnusedThresholdSeconds: 45 * 86400,
    userInactiveThresholdSeconds: 90 * 86400,
    twoActiveKeysGraceSeconds: 86400,
    mfaEnrolmentGraceSeconds: 86400,
    consoleUserKeyGraceSeconds: 86400,
    passwordMinimumLength: 14,
    passwordReusePrevention: 24,
    passwordMaxAgeSeconds: 90 * 86400,
    quotaUsageThreshold: 0.9,
    controlThresholds: {
      credentialUnusedCisSeconds: 45 * 86400,  // CIS 2.11, FSBP IAM.22
      credentialUnusedFsbpSeconds: 90 * 86400,  // FSBP IAM.8
      keyRotationSeconds: 90 * 86400,  // CIS 2.12, FSBP IAM.3
      passwordMinimumLengthCis: 14,  // CIS 2.8, FSBP IAM.15
      passwordMinimumLengthFsbp: 8,  // FSBP IAM.7
      passwordReusePrevention: 24,  // CIS 2.9, FSBP IAM.16
      passwordMaxAgeSeconds: 90 * 86400,  // FSBP IAM.17
    },
    signingCertificateRotationThresholdSeconds: 90 * 86400,
    roleUnusedThresholdSeconds: 90 * 86400,
    roleUnusedExcludedPaths: '/aws-service-role/.*',
    serverCertificateExpiryWarningSeconds: 30 * 86400,
    rootRecentUseWindowSeconds: 86400,
    rootAuditMaxAgeSeconds: 86400,
    serviceCredentialRotationThresholdSeconds: 90 * 86400,
    serviceCredentialExpiryWarningSeconds: 7 * 86400,
    serviceCredentialMaxLifetimeSeconds: 365 * 86400,
    serviceCredentialServicesThatCannotExpire: ['codecommit.amazonaws.com', 'cassandra.amazonaws.com'],
    dataStaleRefreshIntervals: 3,
    dataStaleGraceSeconds: 600,
    reportStaleThresholdSeconds: 6 * 3600,

    findingFor: '15m',
    keepFiringFor: '1h',
    exporterDownFor: '10m',
    exporterHealthFor: '15m',
    exporterNoAccountsFor: '30m',
    shardGroupLabels: ['job'],

    severities: {
      AwsIamAccessKeyNotRotated: 'warning',
      AwsIamAccessKeyUnused: 'warning',
      AwsIamUserHasTwoActiveKeys: 'warning',
      AwsIamConsoleUserWithoutMFA: 'warning',
      AwsIamPasswordUnused: 'warning',
      AwsIamConsoleUserKeyNeverUsed: 'warning',
      AwsIamUserInactive: 'info',
      AwsIamSigningCertificateNotRotated: 'warning',
      AwsIamRoleUnused: 'info',
      AwsIamUserHasDirectPolicies: 'warning',
      AwsIamSupportRoleMissing: 'warning',
      AwsIamCloudShellFullAccessAttached: 'warning',
      AwsIamPasswordPolicyMissing: 'warning',
      AwsIamPasswordPolicyTooShort: 'warning',
      AwsIamPasswordPolicyReuseTooLow: 'warning',
      AwsIamServerCertificateExpiringSoon: 'warning',
      AwsIamServerCertificateExpired: 'warning',
      AwsIamRootAccessKeyActive: 'critical',
      AwsIamRootAccessKeyInactive: 'warning',
      AwsIamRootWithoutMFA: 'critical',
      AwsIamRootRecentlyUsed: 'critical',
      AwsIamRootMFAVirtual: 'warning',
      AwsIamRootAccessKeyPresent: 'critical',
      AwsIamRootSigningCertificatePresent: 'warning',
      AwsIamCentralizedRootAccessDisabled: 'warning',
      AwsIamQuotaNearlyExhausted: 'warning',
      AwsIamPasswordPolicyClassNotRequired: 'warning',
      AwsIamPasswordPolicyExpiryTooLong: 'info',
      AwsIamUserWithoutMFA: 'info',
      AwsIamServiceCredentialNeverExpires: 'warning',
      AwsIamServiceCredentialExpiringSoon: 'warning',
      AwsIamServiceCredentialNotRotated: 'warning',
      AwsIamExporterDown: 'warning',
      AwsIamExporterAbsent: 'warning',
      AwsIamExporterNoAccounts: 'warning',
      AwsIamExporterRefreshFailing: 'warning',
      AwsIamExporterCollectorFailing: 'warning',
      AwsIamExporterDataStale: 'warning',
      AwsIamCredentialReportStale: 'warning',
      AwsIamCredentialReportRowsSkipped: 'warning',
      // Per-account summaries (perAccountSummaries).
      AwsIamAccountKeysNotRotated: 'warning',
      AwsIamAccountKeysUnused: 'warning',
      AwsIamAccountUsersWithTwoActiveKeys: 'warning',
      AwsIamAccountConsoleUsersWithoutMFA: 'warning',
      AwsIamAccountPasswordsUnused: 'warning',
      AwsIamAccountConsoleUsersWithUnusedKeys: 'warning',
      AwsIamAccountUsersInactive: 'info',
      AwsIamAccountRolesUnused: 'info',
      AwsIamAccountSigningCertificatesNotRotated: 'warning',
    },

    perKeyAlerts: true,
    perAccountSummaries: false,
    accountAlerts: true,
    rootAlerts: true,
    fsbpAlerts: true,
    userWithoutMFAAlerts: false,
    exporterAlerts: true,
    serviceCredentialAlerts: true,
  },
}
