// Alerting rules of iam-credentials-exporter, rendered to
// alerts/iam-credentials.rules.yml by mixin/render.py.
//
// Credential findings (keys, passwords, users, root) are identified by the
// labels that name the finding: the replica labels of the config are
// aggregated away, so two replicas give one alert, and a restarted exporter
// (new pod, new instance) continues the same alert. They keep firing for
// keepFiringFor while their series are missing, so that a restart or a slow
// first refresh resolves nothing. Health alerts are per scrape target.
{
  local c = $._config,

  local sel(extra='') = '{' + c.selector + (if extra == '' then '' else ', ' + extra) + '}',
  local notRoot = 'user!="%s"' % c.rootUser,
  local isRoot = 'user="%s"' % c.rootUser,
  local m(metric, extra='') = metric + sel(extra),
  local indent(text, n) =
    local pad = std.repeat(' ', n);
    std.join('\n', [if l == '' then l else pad + l for l in std.split(std.rstripChars(text, '\n'), '\n')]),
  local replicas = std.join(', ', c.replicaLabels),
  // One series per finding, whichever replica or pod reported it.
  local finding(expr) = 'max without (%s) (\n%s\n)\n' % [replicas, indent(expr, 2)],
  local days(seconds) = '%d days' % (seconds / 86400),
  // '10m' -> '10 minutes', '1h' -> '1 hour'.
  local words(d) =
    local n = std.parseInt(std.substr(d, 0, std.length(d) - 1));
    local unit = { s: 'second', m: 'minute', h: 'hour', d: 'day' }[d[std.length(d) - 1]];
    '%d %s%s' % [n, unit, if n == 1 then '' else 's'],
  local runbook(name) = c.runbookURLPattern % std.asciiLower(name),

  // The benchmark controls an alert checks, as labels: cis (CIS AWS
  // Foundations v7.0.0) and fsbp (Security Hub FSBP); several controls of one
  // benchmark are comma-separated. An alert carries a control only where its
  // firing means the control fails: with the benchmark's own threshold.
  local bt = c.controlThresholds,
  local controls(cis='', fsbp='') =
    (if cis == '' then {} else { cis: cis }) + (if fsbp == '' then {} else { fsbp: fsbp }),
  local unusedControls(seconds) =
    if seconds == bt.credentialUnusedCisSeconds then controls('2.11', 'IAM.22')
    else if seconds == bt.credentialUnusedFsbpSeconds then controls(fsbp='IAM.8')
    else {},
  local rotationControls(seconds) =
    if seconds == bt.keyRotationSeconds then controls('2.12', 'IAM.3') else {},
  local lengthControls(n) =
    if n == bt.passwordMinimumLengthCis then controls('2.8', 'IAM.15')
    else if n == bt.passwordMinimumLengthFsbp then controls(fsbp='IAM.7')
    else {},
  local reuseControls(n) =
    if n == bt.passwordReusePrevention then controls('2.9', 'IAM.16') else {},
  local expiryControls(seconds) =
    if seconds == bt.passwordMaxAgeSeconds then controls(fsbp='IAM.17') else {},
  controlLabels:: {
    keyNotRotated: rotationControls(c.keyRotationThresholdSeconds),
    keyUnused: unusedControls(c.keyUnusedThresholdSeconds),
    passwordUnused: unusedControls(c.passwordUnusedThresholdSeconds),
    consoleWithoutMFA: controls('2.10', 'IAM.5,IAM.19'),
  },

  local alert(name, expr, summary, description, forDur, keep=false, runbook_of=name, labels={}) = {
    alert: name,
    expr: expr,
    'for': forDur,
    [if keep then 'keep_firing_for']: c.keepFiringFor,
    labels: { severity: c.severities[name] } + labels,
    annotations: {
      summary: summary,
      description: description,
      runbook_url: runbook(runbook_of),
    },
  },
  // Owners (ownerLabels): each finding alert names who must act, from the
  // info series of the object it is about (ownerKinds). The info series of
  // one object may come from several replicas, which disagree for a refresh
  // after a retag: the join keeps, per object, the series of the replica
  // whose last refresh of the account is the newest, so that it is
  // many-to-one (never an evaluation error) and picks the same series at
  // every evaluation. A finding without an info series (tags flag off,
  // object not listed yet) still fires, without the labels.
  ownerSeries:: {
    user: { metric: 'aws_iam_user_tags', on: 'account_id, user', what: 'IAM user', flag: '--metrics.user-tags' },
    role: { metric: 'aws_iam_role_tags', on: 'account_id, role', what: 'IAM role', flag: '--metrics.role-tags' },
    account: { metric: 'aws_iam_account_tags', on: 'account_id', what: 'account', flag: '--metrics.account-tags' },
  },
  // The object each finding alert is about.
  ownerKinds:: {
    [name]: 'user'
    for name in [
      'AwsIamAccessKeyNotRotated',
      'AwsIamAccessKeyUnused',
      'AwsIamUserHasTwoActiveKeys',
      'AwsIamConsoleUserWithoutMFA',
      'AwsIamPasswordUnused',
      'AwsIamConsoleUserKeyNeverUsed',
      'AwsIamUserInactive',
      'AwsIamSigningCertificateNotRotated',
      'AwsIamUserWithoutMFA',
      'AwsIamUserHasDirectPolicies',
      'AwsIamServiceCredentialNeverExpires',
      'AwsIamServiceCredentialExpiringSoon',
      'AwsIamServiceCredentialNotRotated',
    ]
  } + {
    AwsIamRoleUnused: 'role',
  } + {
    [name]: 'account'
    for name in [
      'AwsIamPasswordPolicyMissing',
      'AwsIamPasswordPolicyTooShort',
      'AwsIamPasswordPolicyReuseTooLow',
      'AwsIamServerCertificateExpiringSoon',
      'AwsIamServerCertificateExpired',
      'AwsIamQuotaNearlyExhausted',
      'AwsIamSupportRoleMissing',
      'AwsIamCloudShellFullAccessAttached',
      'AwsIamRootAccessKeyActive',
      'AwsIamRootAccessKeyPresent',
      'AwsIamRootSigningCertificatePresent',
      'AwsIamRootAccessKeyInactive',
      'AwsIamRootWithoutMFA',
      'AwsIamRootMFAVirtual',
      'AwsIamRootRecentlyUsed',
      'AwsIamCentralizedRootAccessDisabled',
      'AwsIamPasswordPolicyClassNotRequired',
      'AwsIamPasswordPolicyExpiryTooLong',
    ]
  },
  local ownerKind(name) = if c.ownerLabels == [] then null else std.get($.ownerKinds, name, null),
  local owners = std.join(', ', c.ownerLabels),
  // One info series per object, valued 1 (x ^ 0).
  ownerExprs:: {
    [kind]: |||
      topk by (%s) (1,
        %s
        * on (job, account_id, %s) group_left ()
        %s
      ) ^ 0
    ||| % [
      $.ownerSeries[kind].on,
      m($.ownerSeries[kind].metric),
      replicas,
      m('aws_iam_exporter_account_last_refresh_success_timestamp_seconds'),
    ]
    for kind in std.objectFields($.ownerSeries)
  },
  // `expr` is a finding (replica labels aggregated away).
  local owned(kind, expr) =
    if kind == null then expr
    else
      local o = $.ownerSeries[kind];
      local body = indent(expr, 2) + '\n';
      local info = indent($.ownerExprs[kind], 2) + '\n';
      |||
        (
        %s)
        * on (%s) group_left (%s)
        (
        %s)
        or
        (
        %s)
        unless on (%s)
        (
        %s)
      ||| % [body, o.on, owners, info, body, o.on, info],
  local ownerNote(kind) =
    if kind == null then ''
    else
      local o = $.ownerSeries[kind];
      local cond = if std.length(c.ownerLabels) == 1 then '$labels.' + c.ownerLabels[0]
      else 'or ' + std.join(' ', ['$labels.' + l for l in c.ownerLabels]);
      ' {{ if %s }}Owner %s.{{ else }}The owner is unknown, %s has no %s (the tag is missing, or not chosen with %s).{{ end }}' % [
        cond,
        std.join(', ', ['%s={{ $labels.%s }}' % [l, l] for l in c.ownerLabels]),
        'this ' + o.what,
        std.join(' or ', c.ownerLabels),
        o.flag,
      ],
  local findingAlert(name, expr, summary, description, labels={}) =
    local kind = ownerKind(name);
    alert(name, owned(kind, finding(expr)), summary, description + ownerNote(kind), c.findingFor, keep=true, labels=labels),

  // Ages and idle times from the timestamp families, as the exporter
  // computes its *_age_seconds and *_idle_seconds families at scrape time
  // (src/credentials/keys.rs, users.rs): every rule reads these, so that the
  // rules work alike with --metrics.ages=false, which leaves those families
  // out. Each is an expression of one series per key or user, valued in
  // seconds; `extra` is a label matcher for every selector.
  ageExprs:: {
    keyAge(extra)::
      'time() - %s' % m('aws_iam_access_key_created_timestamp_seconds', extra),
    // Since the last use, or since the creation of a key that was never
    // used. Nothing where the report does not say whether the key was used
    // (the 2015 format: no last use, no aws_iam_access_key_never_used).
    keyIdle(extra):: |||
      time()
      -
      (
        %s
        or
        (
          %s
          and
          %s == 1
        )
      )
    ||| % [
      m('aws_iam_access_key_last_used_timestamp_seconds', extra),
      m('aws_iam_access_key_created_timestamp_seconds', extra),
      m('aws_iam_access_key_never_used', extra),
    ],
    // Since the user's last sign of life (model.rs, last_sign_of_life): the
    // latest of its last password or key use and the upload of each still
    // active signing certificate; since its creation if none. Nothing for
    // a user whose active key has an unknown use (2015 report format).
    userIdle(extra):: |||
      (
        time()
        -
        (
          max without (slot) (
            %s
            or
            (
              %s
              and
              %s == 1
            )
          )
          or
          %s
        )
      )
      unless on (account_id, user)
      (
        %s == 1
        unless
        %s
      )
    ||| % [
      m('aws_iam_user_last_activity_timestamp_seconds', extra),
      m('aws_iam_signing_certificate_created_timestamp_seconds', extra),
      m('aws_iam_signing_certificate_active', extra),
      m('aws_iam_user_created_timestamp_seconds', extra),
      m('aws_iam_access_key_active', extra),
      m('aws_iam_access_key_never_used', extra),
    ],
  },
  local ages = $.ageExprs,

  // Per-key and per-user expressions, before aggregation.
  local activeKey(extra) = m('aws_iam_access_key_active', extra) + ' == 1',
  local exprs = {
    keyNotRotated: |||
      %s > %d
      and
      %s
    ||| % [ages.keyAge(notRoot), c.keyRotationThresholdSeconds, activeKey(notRoot)],
    keyUnused: |||
      (
      %s) >= %d
      and
      %s
    ||| % [indent(ages.keyIdle(notRoot), 2) + '\n', c.keyUnusedThresholdSeconds, activeKey(notRoot)],
    twoActiveKeys: |||
      %s >= 2
      and
      min without (slot, access_key_id) (
        %s
        and
        %s
      ) > %d
    ||| % [
      m('aws_iam_user_active_access_keys', notRoot),
      ages.keyAge(notRoot),
      activeKey(notRoot),
      c.twoActiveKeysGraceSeconds,
    ],
    consoleWithoutMFA: |||
      %s == 0
      and
      %s == 1
      and
      (
        time()
        -
        (
          %s
          or
          %s
        )
      ) > %d
    ||| % [
      m('aws_iam_user_mfa_active', notRoot),
      m('aws_iam_user_password_enabled', notRoot),
      m('aws_iam_user_password_last_changed_timestamp_seconds', notRoot),
      m('aws_iam_user_created_timestamp_seconds', notRoot),
      c.mfaEnrolmentGraceSeconds,
    ],
    passwordUnused: |||
      (
        time()
        -
        (
          %s
          or
          %s
          or
          %s
        )
      ) >= %d
      and
      %s == 1
    ||| % [
      m('aws_iam_user_password_last_used_timestamp_seconds', notRoot),
      m('aws_iam_user_password_last_changed_timestamp_seconds', notRoot),
      m('aws_iam_user_created_timestamp_seconds', notRoot),
      c.passwordUnusedThresholdSeconds,
      m('aws_iam_user_password_enabled', notRoot),
    ],
    userInactive: |||
      (
      %s) >= %d
    ||| % [indent(ages.userIdle(notRoot), 2) + '\n', c.userInactiveThresholdSeconds],
    // CIS 1.11: a console user's active key that was never used, past the
    // grace (a key created along with the user "just in case").
    consoleUserKeyNeverUsed: |||
      time() - %s > %d
      and
      %s == 1
      and
      %s
      and on (account_id, user)
      %s == 1
    ||| % [
      m('aws_iam_access_key_created_timestamp_seconds', notRoot),
      c.consoleUserKeyGraceSeconds,
      m('aws_iam_access_key_never_used', notRoot),
      activeKey(notRoot),
      m('aws_iam_user_password_enabled', notRoot),
    ],
    // From the upload time rather than the age family, so that it also works
    // with --metrics.ages=false. Root included: no other alert covers a root
    // signing certificate.
    signingCertNotRotated: |||
      time() - %s > %d
      and
      %s == 1
    ||| % [
      m('aws_iam_signing_certificate_created_timestamp_seconds'),
      c.signingCertificateRotationThresholdSeconds,
      m('aws_iam_signing_certificate_active'),
    ],
    // From the timestamps rather than aws_iam_role_idle_seconds, so that it
    // also works with --metrics.ages=false. A role with no use reported
    // (none within the 400 days AWS tracks) counts from its creation: a
    // young role is not unused yet, an old one is.
    roleUnused: |||
      time()
      -
      (
        %s
        or
        %s
      ) >= %d
    ||| % [
      m('aws_iam_role_last_used_timestamp_seconds'),
      m('aws_iam_role_created_timestamp_seconds'),
      c.roleUnusedThresholdSeconds,
    ] + (
      if c.roleUnusedExcludedPaths == '' then ''
      else |||
        unless on (account_id, role)
        %s
      ||| % m('aws_iam_role_info', 'path=~"%s"' % c.roleUnusedExcludedPaths)
    ),
  },

  local keyName = 'Access key {{ with $labels.access_key_id }}{{ . }} {{ end }}in slot {{ $labels.slot }} of IAM user {{ $labels.user }} in account {{ $labels.account_id }}',

  local perKey = [
    findingAlert(
      'AwsIamAccessKeyNotRotated',
      exprs.keyNotRotated,
      'An active IAM access key has not been rotated for more than %s.' % days(c.keyRotationThresholdSeconds),
      keyName + ' was created {{ $value | humanizeDuration }} ago and is still active. Keys must be rotated at least every %s.' % days(c.keyRotationThresholdSeconds),
      $.controlLabels.keyNotRotated,
    ),
    findingAlert(
      'AwsIamAccessKeyUnused',
      exprs.keyUnused,
      'An active IAM access key has not been used for %s or more.' % days(c.keyUnusedThresholdSeconds),
      keyName + ' is active but has not been used for {{ $value | humanizeDuration }} (a key that was never used counts from its creation). Unused credentials must be deactivated after %s.' % days(c.keyUnusedThresholdSeconds),
      $.controlLabels.keyUnused,
    ),
    findingAlert(
      'AwsIamUserHasTwoActiveKeys',
      exprs.twoActiveKeys,
      'An IAM user has had two active access keys for more than a day.',
      'IAM user {{ $labels.user }} in account {{ $labels.account_id }} has {{ $value }} active access keys and the newer one is more than a day old. Outside of a rotation a user should have at most one active key.',
    ),
    findingAlert(
      'AwsIamConsoleUserWithoutMFA',
      exprs.consoleWithoutMFA,
      'An IAM user with a console password has no MFA device.',
      'IAM user {{ $labels.user }} in account {{ $labels.account_id }} can sign in to the console with a password but has no active MFA device.',
      $.controlLabels.consoleWithoutMFA,
    ),
    findingAlert(
      'AwsIamPasswordUnused',
      exprs.passwordUnused,
      'An IAM console password has not been used for %s or more.' % days(c.passwordUnusedThresholdSeconds),
      'The console password of IAM user {{ $labels.user }} in account {{ $labels.account_id }} has not been used for {{ $value | humanizeDuration }} (a password that was never used counts from when it was set). Unused passwords must be removed after %s.' % days(c.passwordUnusedThresholdSeconds),
      $.controlLabels.passwordUnused,
    ),
    findingAlert(
      'AwsIamConsoleUserKeyNeverUsed',
      exprs.consoleUserKeyNeverUsed,
      'An IAM user with a console password has an active access key that was never used.',
      keyName + ' was created {{ $value | humanizeDuration }} ago and has never been used, and the user signs in to the console with a password. Keys must not be created at user setup; delete it, and create one only when a program needs it.',
    ),
    findingAlert(
      'AwsIamUserInactive',
      exprs.userInactive,
      'An IAM user has not used a password or access key for %s or more.' % days(c.userInactiveThresholdSeconds),
      'IAM user {{ $labels.user }} in account {{ $labels.account_id }} has had no console sign-in and no access key use for {{ $value | humanizeDuration }} (a user that was never active counts from its creation; an active signing certificate, whose use AWS does not record, counts from its upload).',
    ),
    findingAlert(
      'AwsIamSigningCertificateNotRotated',
      exprs.signingCertNotRotated,
      'An active X.509 signing certificate of an IAM user was uploaded more than %s ago.' % days(c.signingCertificateRotationThresholdSeconds),
      'The signing certificate in slot {{ $labels.slot }} of IAM user {{ $labels.user }} in account {{ $labels.account_id }} was uploaded {{ $value | humanizeDuration }} ago and is still active. AWS records no use of signing certificates: replace it, or delete it if nothing uses it, at least every %s.' % days(c.signingCertificateRotationThresholdSeconds),
    ),
    findingAlert(
      'AwsIamRoleUnused',
      exprs.roleUnused,
      'An IAM role has not been used for %s or more.' % days(c.roleUnusedThresholdSeconds),
      'IAM role {{ $labels.role }} in account {{ $labels.account_id }} has not been used for {{ $value | humanizeDuration }}. AWS reports role use for the last 400 days only: a role with no use reported counts from its creation, so it may have been used before that.',
    ),
    // CIS 2.13, FSBP IAM.2: permissions through groups only. From the
    // authorization-details collector (iam:GetAccountAuthorizationDetails).
    findingAlert(
      'AwsIamUserHasDirectPolicies',
      |||
        %s
        +
        %s
        > 0
      ||| % [m('aws_iam_user_inline_policies'), m('aws_iam_user_attached_policies')],
      'An IAM user has policies of its own instead of getting permissions through groups.',
      'IAM user {{ $labels.user }} in account {{ $labels.account_id }} has {{ $value }} inline or directly attached managed policies. Permissions must come through groups only: move them to a group the user is a member of, then detach and delete them from the user.',
      controls('2.13', 'IAM.2'),
    ),
  ],

  // Account-wide findings: the password policy (CIS 1.8, 1.9) and server
  // certificates stored in IAM (CIS 1.19). Absent while their collector is
  // off or has never succeeded.
  local account = [
    findingAlert(
      'AwsIamPasswordPolicyMissing',
      '%s == 0\n' % m('aws_iam_password_policy_present'),
      'An AWS account has no IAM password policy.',
      "There is no IAM password policy in account {{ $labels.account_id }}: console passwords follow IAM's defaults (8 characters, any reuse), below CIS 2.8 (%d characters) and 2.9 (%d remembered)." % [bt.passwordMinimumLengthCis, bt.passwordReusePrevention],
      controls('2.8,2.9', 'IAM.7,IAM.11,IAM.12,IAM.13,IAM.14,IAM.15,IAM.16,IAM.17'),
    ),
    findingAlert(
      'AwsIamPasswordPolicyTooShort',
      '%s < %d\n' % [m('aws_iam_password_policy_minimum_length'), c.passwordMinimumLength],
      'The IAM password policy of an AWS account accepts passwords shorter than %d characters.' % c.passwordMinimumLength,
      'The IAM password policy of account {{ $labels.account_id }} accepts passwords of {{ $value }} characters; at least %d are required.' % c.passwordMinimumLength,
      lengthControls(c.passwordMinimumLength),
    ),
    findingAlert(
      'AwsIamPasswordPolicyReuseTooLow',
      '%s < %d\n' % [m('aws_iam_password_policy_reuse_prevention'), c.passwordReusePrevention],
      'The IAM password policy of an AWS account remembers fewer than %d passwords.' % c.passwordReusePrevention,
      'The IAM password policy of account {{ $labels.account_id }} prevents the reuse of the last {{ $value }} passwords (0: reuse is allowed); at least %d are required.' % c.passwordReusePrevention,
      reuseControls(c.passwordReusePrevention),
    ),
    findingAlert(
      'AwsIamServerCertificateExpiringSoon',
      |||
        %s - time() <= %d
        and
        %s - time() > 0
      ||| % [
        m('aws_iam_server_certificate_expiration_timestamp_seconds'),
        c.serverCertificateExpiryWarningSeconds,
        m('aws_iam_server_certificate_expiration_timestamp_seconds'),
      ],
      'A server certificate stored in IAM expires within %s.' % days(c.serverCertificateExpiryWarningSeconds),
      'Server certificate {{ $labels.name }} ({{ $labels.id }}) stored in IAM in account {{ $labels.account_id }} expires in {{ $value | humanizeDuration }}. Upload its renewal and move the load balancers and CloudFront distributions that serve it before then.',
    ),
    findingAlert(
      'AwsIamServerCertificateExpired',
      'time() - %s >= 0\n' % m('aws_iam_server_certificate_expiration_timestamp_seconds'),
      'An expired server certificate is stored in IAM.',
      'Server certificate {{ $labels.name }} ({{ $labels.id }}) stored in IAM in account {{ $labels.account_id }} expired {{ $value | humanizeDuration }} ago. Expired certificates must be deleted from IAM: anything still serving it fails TLS, and it can be deployed by mistake.',
      controls('2.17', 'IAM.26'),
    ),
    // iam:GetAccountSummary's counts against their quotas. A quota of 0
    // (a kind AWS does not limit there) never alerts.
    findingAlert(
      'AwsIamQuotaNearlyExhausted',
      |||
        %s
        /
        (%s > 0)
        > %g
      ||| % [m('aws_iam_account_resources'), m('aws_iam_account_resources_quota'), c.quotaUsageThreshold],
      'An IAM quota of an AWS account is more than %d%% used.' % std.floor(c.quotaUsageThreshold * 100 + 0.5),
      'Account {{ $labels.account_id }} uses {{ $value | humanizePercentage }} of its IAM quota of {{ $labels.resource }}. At the quota, every deployment that creates one more fails; delete unused ones or ask for a higher quota (Service Quotas, service IAM) before then.',
    ),
    // CIS 2.15, FSBP IAM.18: a role to manage incidents with AWS Support.
    findingAlert(
      'AwsIamSupportRoleMissing',
      '%s == 0\n' % m('aws_iam_policy_attachments', 'policy="AWSSupportAccess", kind="role"'),
      'No IAM role of an AWS account has the AWSSupportAccess policy.',
      'No IAM role in account {{ $labels.account_id }} has the AWS managed policy AWSSupportAccess attached, so nobody can open or follow AWS Support cases through a role. Create a support role with AWSSupportAccess that the incident responders may assume.',
      controls('2.15', 'IAM.18'),
    ),
    // CIS 2.20, FSBP IAM.27: one alert per kind (user, group, role).
    findingAlert(
      'AwsIamCloudShellFullAccessAttached',
      '%s > 0\n' % m('aws_iam_policy_attachments', 'policy="AWSCloudShellFullAccess"'),
      'The AWSCloudShellFullAccess policy is attached in an AWS account.',
      'The AWS managed policy AWSCloudShellFullAccess is attached to {{ $value }} {{ $labels.kind }}(s) in account {{ $labels.account_id }}. It allows uploading and downloading files through CloudShell, a path around data egress controls: detach it and grant a narrower CloudShell policy instead.',
      controls('2.20', 'IAM.27'),
    ),
  ],

  // One alert per account and kind of finding, valued with the count.
  local summary(name, of, expr, what, of_labels='user, slot, access_key_id', labels={}) = alert(
    name,
    'count without (%s) (\n%s)\n' % [of_labels, indent(finding(expr), 2)],
    'An AWS account has %s.' % what,
    'Account {{ $labels.account_id }} has {{ $value }} %s. The %s alert of the runbook says what to do with each; the dashboards list them.' % [what, of],
    c.findingFor,
    keep=true,
    runbook_of=of,
    labels=labels,
  ),
  local perAccount = [
    summary('AwsIamAccountKeysNotRotated', 'AwsIamAccessKeyNotRotated', exprs.keyNotRotated, 'active access keys older than %s' % days(c.keyRotationThresholdSeconds), labels=$.controlLabels.keyNotRotated),
    summary('AwsIamAccountKeysUnused', 'AwsIamAccessKeyUnused', exprs.keyUnused, 'active access keys unused for %s or more' % days(c.keyUnusedThresholdSeconds), labels=$.controlLabels.keyUnused),
    summary('AwsIamAccountUsersWithTwoActiveKeys', 'AwsIamUserHasTwoActiveKeys', exprs.twoActiveKeys, 'IAM users with two active access keys'),
    summary('AwsIamAccountConsoleUsersWithoutMFA', 'AwsIamConsoleUserWithoutMFA', exprs.consoleWithoutMFA, 'IAM users with a console password and no MFA device', labels=$.controlLabels.consoleWithoutMFA),
    summary('AwsIamAccountPasswordsUnused', 'AwsIamPasswordUnused', exprs.passwordUnused, 'console passwords unused for %s or more' % days(c.passwordUnusedThresholdSeconds), labels=$.controlLabels.passwordUnused),
    summary('AwsIamAccountConsoleUsersWithUnusedKeys', 'AwsIamConsoleUserKeyNeverUsed', exprs.consoleUserKeyNeverUsed, 'never-used active access keys of console users'),
    summary('AwsIamAccountUsersInactive', 'AwsIamUserInactive', exprs.userInactive, 'IAM users inactive for %s or more' % days(c.userInactiveThresholdSeconds)),
    summary('AwsIamAccountSigningCertificatesNotRotated', 'AwsIamSigningCertificateNotRotated', exprs.signingCertNotRotated, 'active signing certificates older than %s' % days(c.signingCertificateRotationThresholdSeconds), of_labels='user, slot'),
    summary('AwsIamAccountRolesUnused', 'AwsIamRoleUnused', exprs.roleUnused, 'IAM roles unused for %s or more' % days(c.roleUnusedThresholdSeconds), of_labels='role'),
  ],

  // Accounts whose root user, as audited by the root-credentials collector
  // no longer than rootAuditMaxAgeSeconds ago (the audit's own time, not the
  // last refresh that served it), holds no password, no access key and no
  // signing certificate. Only a successful audit says so: without
  // one (collector off, management account, China partitions, failing
  // audits) an account is never in this set.
  rootExprs:: {
    noCredential: |||
      max by (account_id) (
        %s
      ) == 0
      and on (account_id)
      time() - max by (account_id) (
        %s
      ) < %d
    ||| % [
      m('aws_iam_root_credentials', 'credential=~"password|access_key|signing_certificate"'),
      m('aws_iam_root_credentials_audited_timestamp_seconds'),
      c.rootAuditMaxAgeSeconds,
    ],
    // Root without MFA where it can sign in with a password: the report's
    // root row, or iam:GetAccountSummary where the report has no root row
    // (the API source). Never where the account summary says root has no
    // password (AccountPasswordPresent 0: CIS 2.5 passes, MFA is neither
    // possible nor necessary) nor where a recent audit found no credential.
    // Where IAM does not send AccountPasswordPresent, the report decides.
    withoutMFA: |||
      (
        %s == 0
        or
        label_replace(
          %s == 0
          and on (account_id)
          %s == 1,
          "user", "%s", "", ""
        )
        unless on (account_id)
        %s
      )
      unless on (account_id)
      %s == 0
      unless on (account_id)
      (
      %s)
    ||| % [
      m('aws_iam_user_mfa_active', isRoot),
      m('aws_iam_account_root_mfa_enabled'),
      m('aws_iam_account_root_password_present'),
      c.rootUser,
      m('aws_iam_user_mfa_active', isRoot),
      m('aws_iam_account_root_password_present'),
      indent($.rootExprs.noCredential, 2) + '\n',
    ],
    // A root access key that only the account summary shows: accounts whose
    // report has no root row, or a key made since the report was generated.
    // Where the report lists a root key, its own alerts fire instead.
    accessKeyPresent: |||
      %s == 1
      unless on (account_id)
      %s
    ||| % [m('aws_iam_account_root_access_keys_present'), m('aws_iam_access_key_active', isRoot)],
  },

  local root = [
    findingAlert(
      'AwsIamRootAccessKeyActive',
      '%s == 1\n' % m('aws_iam_access_key_active', isRoot),
      'The root user of an AWS account has an active access key.',
      'The root user of account {{ $labels.account_id }} has an active access key in slot {{ $labels.slot }}. Root access keys give unrestricted access to the account and must be deleted.',
      controls('2.4', 'IAM.4'),
    ),
    findingAlert(
      'AwsIamRootAccessKeyPresent',
      $.rootExprs.accessKeyPresent,
      'The root user of an AWS account has an access key, as the account summary shows.',
      'iam:GetAccountSummary says the root user of account {{ $labels.account_id }} has an access key (AccountAccessKeysPresent), active or not, and the credential report in use lists none: it has no root row, or the key is newer than the report. The root user should have no access key at all.',
      controls('2.4', 'IAM.4'),
    ),
    // No benchmark control covers root signing certificates (CIS 2.4 and
    // FSBP IAM.4 are about access keys): no control label.
    findingAlert(
      'AwsIamRootSigningCertificatePresent',
      '%s == 1\n' % m('aws_iam_account_root_signing_certificates_present'),
      'The root user of an AWS account has an X.509 signing certificate, as the account summary shows.',
      'iam:GetAccountSummary says the root user of account {{ $labels.account_id }} has a signing certificate (AccountSigningCertificatesPresent), active or not. Requests signed with it act with the full power of the root user, and AWS records no use of it. The root user should have no signing certificate at all: delete it.',
    ),
    findingAlert(
      'AwsIamRootAccessKeyInactive',
      '%s == 0\n' % m('aws_iam_access_key_active', isRoot),
      'The root user of an AWS account has an access key (inactive).',
      'The root user of account {{ $labels.account_id }} has an inactive access key in slot {{ $labels.slot }}. The root user should have no access key at all; delete it rather than keep it deactivated.',
      controls('2.4', 'IAM.4'),
    ),
    // Only where root can sign in with a password (rootExprs.withoutMFA).
    findingAlert(
      'AwsIamRootWithoutMFA',
      $.rootExprs.withoutMFA,
      'The root user of an AWS account has no MFA device.',
      'The root user of account {{ $labels.account_id }} has no active MFA device: its password alone gives full control of the account.',
      controls('2.5', 'IAM.9'),
    ),
    findingAlert(
      'AwsIamRootMFAVirtual',
      '%s == 1\n' % m('aws_iam_user_mfa_virtual', isRoot),
      'The root user of an AWS account uses a virtual MFA device.',
      'The root user of account {{ $labels.account_id }} has a virtual MFA device (an authenticator app), alone or next to other devices. Hardware MFA is required on the root user: a virtual device lives on a phone or computer that can be lost, copied or compromised.',
      controls('2.6', 'IAM.6'),
    ),
    // An event, not a state: routed to the security receiver without a
    // resolved notification. The credential report lags up to 4 h, so the
    // window is long enough that a use is still inside it when it shows up.
    alert(
      'AwsIamRootRecentlyUsed',
      owned(ownerKind('AwsIamRootRecentlyUsed'), finding('time() - %s < %d' % [m('aws_iam_user_last_activity_timestamp_seconds', isRoot), c.rootRecentUseWindowSeconds])),
      'The root user of an AWS account was used recently.',
      'The root user of account {{ $labels.account_id }} signed in or used an access key {{ $value | humanizeDuration }} ago. The root user should only be used for the few tasks that require it; CloudTrail has who, from where and what.' + ownerNote(ownerKind('AwsIamRootRecentlyUsed')),
      '0m',
      keep=true,
      labels=controls('2.7'),
    ),
    // From the management or delegated administrator account only
    // (iam:ListOrganizationsFeatures): one alert per organization.
    findingAlert(
      'AwsIamCentralizedRootAccessDisabled',
      '%s == 0\n' % m('aws_iam_organization_feature_enabled', 'feature="RootCredentialsManagement"'),
      'Centralized root access is not enabled in an AWS organization.',
      "Organization {{ $labels.organization_id }} does not have IAM's centralized root access (RootCredentialsManagement): every member account keeps root credentials of its own, which the management account can neither audit nor delete.",
      controls('2.1.1'),
    ),
  ],

  // What only Security Hub's FSBP asks for. Absent while the password-policy
  // collector is off or has never succeeded.
  local policyClass(metric, requirement, fsbp) =
    'label_replace(label_replace(%s == 0, "requirement", "%s", "", ""), "fsbp", "%s", "", "")' % [m(metric), requirement, fsbp],
  local fsbpOnly = [
    // A class not required fails IAM.7 (all four classes and a length) and
    // the class's own control.
    findingAlert(
      'AwsIamPasswordPolicyClassNotRequired',
      std.join('\nor\n', [
        policyClass('aws_iam_password_policy_require_uppercase_characters', 'uppercase', 'IAM.7,IAM.11'),
        policyClass('aws_iam_password_policy_require_lowercase_characters', 'lowercase', 'IAM.7,IAM.12'),
        policyClass('aws_iam_password_policy_require_symbols', 'symbols', 'IAM.7,IAM.13'),
        policyClass('aws_iam_password_policy_require_numbers', 'numbers', 'IAM.7,IAM.14'),
      ]) + '\n',
      'The IAM password policy of an AWS account does not require a character class.',
      'The IAM password policy of account {{ $labels.account_id }} accepts passwords without {{ $labels.requirement }} (Security Hub {{ $labels.fsbp }}).',
    ),
    findingAlert(
      'AwsIamPasswordPolicyExpiryTooLong',
      |||
        %s > %d
        or
        %s == 1
        unless on (account_id)
        %s
      ||| % [
        m('aws_iam_password_policy_max_age_seconds'),
        c.passwordMaxAgeSeconds,
        m('aws_iam_password_policy_present'),
        m('aws_iam_password_policy_max_age_seconds'),
      ],
      'The IAM password policy of an AWS account lets passwords live longer than %s.' % days(c.passwordMaxAgeSeconds),
      'Passwords of IAM users in account {{ $labels.account_id }} never expire or expire after more than %s. CIS advises against forced expiry; Security Hub FSBP IAM.17 asks for %s at most.' % [days(c.passwordMaxAgeSeconds), days(bt.passwordMaxAgeSeconds)],
      expiryControls(c.passwordMaxAgeSeconds),
    ),
  ] + (if c.userWithoutMFAAlerts then [
    // Console users without MFA are AwsIamConsoleUserWithoutMFA's.
    findingAlert(
      'AwsIamUserWithoutMFA',
      |||
        %s == 0
        unless on (account_id, user)
        %s == 1
        and on (account_id, user)
        time() - %s > %d
      ||| % [
        m('aws_iam_user_mfa_active', notRoot),
        m('aws_iam_user_password_enabled', notRoot),
        m('aws_iam_user_created_timestamp_seconds', notRoot),
        c.mfaEnrolmentGraceSeconds,
      ],
      'An IAM user without a console password has no MFA device.',
      'IAM user {{ $labels.user }} in account {{ $labels.account_id }} has no MFA device. It has no console password, so this only matters for Security Hub FSBP IAM.19 (MFA for every IAM user) and for API calls that require MFA.',
      controls(fsbp='IAM.19'),
    ),
  ] else []),

  // Service-specific credentials. Ages are computed from the timestamps,
  // so these alerts work with --metrics.ages=false too.
  local credName = 'The {{ $labels.service_name }} credential {{ $labels.credential_id }} of IAM user {{ $labels.user }} in account {{ $labels.account_id }}',
  local activeCred(extra='') = '%s == 1' % m('aws_iam_service_specific_credential_active', extra),
  local serviceCredentials = [
    // Without an expiration date (value 1), or with one further from its
    // creation than serviceCredentialMaxLifetimeSeconds (value: that
    // lifetime in seconds): CreateServiceSpecificCredential takes up to
    // 36,600 days, an expiry in a century protects nothing.
    findingAlert(
      'AwsIamServiceCredentialNeverExpires',
      |||
        (
          %s
          unless
          %s
        )
        or
        (
          %s
          -
          %s
          > %d
          and
          %s
        )
      ||| % [
        activeCred('service_name!~"%s"' % std.join('|', [std.strReplace(s, '.', '\\\\.') for s in c.serviceCredentialServicesThatCannotExpire])),
        m('aws_iam_service_specific_credential_expiration_timestamp_seconds'),
        m('aws_iam_service_specific_credential_expiration_timestamp_seconds'),
        m('aws_iam_service_specific_credential_created_timestamp_seconds'),
        c.serviceCredentialMaxLifetimeSeconds,
        activeCred(),
      ],
      'An active long-term API key never expires.',
      credName + ' is an active API key (a bearer token) {{ if gt $value 1.0 }}that expires {{ $value | humanizeDuration }} after its creation, more than the %s a key may live: in effect it never expires{{ else }}without an expiration date{{ end }}. Whoever holds it can use it until someone deactivates it. Replace it with one that expires within %s, or with short-term credentials.' % [days(c.serviceCredentialMaxLifetimeSeconds), days(c.serviceCredentialMaxLifetimeSeconds)],
    ),
    findingAlert(
      'AwsIamServiceCredentialExpiringSoon',
      |||
        (
          %s
          - time()
        ) < %d > 0
        and
        %s
      ||| % [
        m('aws_iam_service_specific_credential_expiration_timestamp_seconds'),
        c.serviceCredentialExpiryWarningSeconds,
        activeCred(),
      ],
      'An active service-specific credential expires within %s.' % days(c.serviceCredentialExpiryWarningSeconds),
      credName + ' expires in {{ $value | humanizeDuration }}. Whatever uses it stops working then: issue a replacement and move its users to it.',
    ),
    findingAlert(
      'AwsIamServiceCredentialNotRotated',
      |||
        time() - %s > %d
        and
        %s
      ||| % [
        m('aws_iam_service_specific_credential_created_timestamp_seconds'),
        c.serviceCredentialRotationThresholdSeconds,
        activeCred(),
      ],
      'An active service-specific credential is older than %s.' % days(c.serviceCredentialRotationThresholdSeconds),
      credName + ' was created {{ $value | humanizeDuration }} ago and is still active. Rotate it at least every %s, as access keys.' % days(c.serviceCredentialRotationThresholdSeconds),
    ),
  ],

  local exporter = [
    alert(
      'AwsIamExporterDown',
      '%s == 0\n' % m('up'),
      'Prometheus cannot scrape iam-credentials-exporter.',
      'The scrape of iam-credentials-exporter at {{ $labels.instance }} has failed for more than %s. Its credential alerts keep firing for %s, then resolve.' % [words(c.exporterDownFor), words(c.keepFiringFor)],
      c.exporterDownFor,
    ),
    alert(
      'AwsIamExporterAbsent',
      'absent(%s)\n' % m('up'),
      'No iam-credentials-exporter target is being scraped.',
      'Prometheus has no target with %s{{ if $labels.job }} (job {{ $labels.job }}){{ end }}. IAM credential alerts cannot fire until the exporter is discovered and scraped again.' % c.selector,
      c.exporterHealthFor,
    ),
    // A shard of a sharded deployment (aws_iam_exporter_shards > 1) may own
    // no account while the other shards of the deployment (the same
    // shardGroupLabels) export theirs: not an alert. The whole deployment
    // exporting none, or an unsharded exporter with none, is.
    alert(
      'AwsIamExporterNoAccounts',
      |||
        (
          %s == 1
          unless ignoring (account_id)
          %s
        )
        unless
        (
          %s > 1
          and on (%s)
          group by (%s) (%s)
        )
      ||| % [
        m('up'),
        m('aws_iam_exporter_account_refresh_success'),
        m('aws_iam_exporter_shards'),
        std.join(', ', c.shardGroupLabels),
        std.join(', ', c.shardGroupLabels),
        m('aws_iam_exporter_account_refresh_success'),
      ],
      'iam-credentials-exporter is up but exports no AWS account.',
      'iam-credentials-exporter at {{ $labels.instance }} has answered scrapes for %s without exporting any account; its first refresh has not finished, or it found no account to refresh. Where it is a shard (--shard.count), no other shard of {{ $labels.job }} exports an account either.' % words(c.exporterNoAccountsFor),
      c.exporterNoAccountsFor,
    ),
    alert(
      'AwsIamExporterRefreshFailing',
      '%s == 0\n' % m('aws_iam_exporter_account_refresh_success'),
      'iam-credentials-exporter cannot refresh the data of an AWS account.',
      'Refreshing IAM data of account {{ $labels.account_id }} on {{ $labels.instance }} has failed for more than %s. The exporter keeps serving the last good snapshot.' % words(c.exporterHealthFor),
      c.exporterHealthFor,
    ),
    alert(
      'AwsIamExporterCollectorFailing',
      // One alert per collector and exporter, valued with the number of
      // accounts: after an upgrade turns on a collector whose permission is
      // missing, an organization of thousands of accounts gets one alert
      // per collector, not one per account.
      |||
        count without (account_id) (
          %s == 0
        )
      ||| % m('aws_iam_exporter_collector_success'),
      'A collector of iam-credentials-exporter cannot read some AWS accounts.',
      'The {{ $labels.collector }} collector of {{ $labels.instance }} has failed for {{ $value }} of its accounts for more than %s. Their other data is current; this collector\'s series are from its last success (aws_iam_exporter_collector_last_success_timestamp_seconds), or absent if it never succeeded. The Collectors table of the Exporter health dashboard lists the accounts.' % words(c.exporterHealthFor),
      c.exporterHealthFor,
    ),
    alert(
      'AwsIamExporterDataStale',
      // Relative to the exporter's own --refresh.interval.
      |||
        time() - %s
        > ignoring (account_id) group_left ()
        (%d * %s + %d)
      ||| % [
        m('aws_iam_exporter_account_last_refresh_success_timestamp_seconds'),
        c.dataStaleRefreshIntervals,
        m('aws_iam_exporter_refresh_interval_seconds'),
        c.dataStaleGraceSeconds,
      ],
      'IAM data served by iam-credentials-exporter is stale.',
      'The last successful refresh of account {{ $labels.account_id }} on {{ $labels.instance }} was {{ $value | humanizeDuration }} ago, more than %d refresh intervals.' % c.dataStaleRefreshIntervals,
      '5m',
    ),
    alert(
      'AwsIamCredentialReportStale',
      // Reports fetched from AWS only: a report file is as old as the file.
      finding(|||
        time() - %s > %d
        unless ignoring (account_id, source)
        %s
      ||| % [
        m('aws_iam_credential_report_generated_timestamp_seconds'),
        c.reportStaleThresholdSeconds,
        m('aws_iam_exporter_source_info', 'source="file"'),
      ]),
      'The IAM credential report of an AWS account is older than %d hours.' % (c.reportStaleThresholdSeconds / 3600),
      'The credential report of account {{ $labels.account_id }} was generated {{ $value | humanizeDuration }} ago. AWS allows a new report every 4 hours, so the exporter should never serve one older than %d hours.' % (c.reportStaleThresholdSeconds / 3600),
      c.exporterHealthFor,  keep=true,
    ),
    alert(
      'AwsIamCredentialReportRowsSkipped',
      finding('%s > 0\n' % m('aws_iam_exporter_report_rows_skipped')),
      'Rows of an IAM credential report could not be parsed.',
      'The credential report of account {{ $labels.account_id }} has {{ $value }} rows that could not be parsed; the users in them are missing from every alert and dashboard. The exporter log names each line and the reason.',
      c.exporterHealthFor,  keep=true,
    ),
  ],

  // Threshold of each alert, for the table at the top of the rendered rules
  // file (docs/runbook.md has the same table; tests/alerting/rules.rs compares them).
  alertThresholds:: {
    local t(words, seconds) = { threshold: words, seconds: if seconds == null then '-' else std.toString(seconds) },
    AwsIamAccessKeyNotRotated: t('active key age > %s' % days(c.keyRotationThresholdSeconds), c.keyRotationThresholdSeconds),
    AwsIamAccessKeyUnused: t('active key idle >= %s' % days(c.keyUnusedThresholdSeconds), c.keyUnusedThresholdSeconds),
    AwsIamUserHasTwoActiveKeys: t('both keys active, newer one older than grace', c.twoActiveKeysGraceSeconds),
    AwsIamConsoleUserWithoutMFA: t('password enabled, no MFA, set longer ago than grace', c.mfaEnrolmentGraceSeconds),
    AwsIamPasswordUnused: t('password unused >= %s' % days(c.passwordUnusedThresholdSeconds), c.passwordUnusedThresholdSeconds),
    AwsIamConsoleUserKeyNeverUsed: t('console user, active key never used, older than grace', c.consoleUserKeyGraceSeconds),
    AwsIamUserInactive: t('no password/key use or cert upload >= %s' % days(c.userInactiveThresholdSeconds), c.userInactiveThresholdSeconds),
    AwsIamAccountKeysNotRotated: t('count of AwsIamAccessKeyNotRotated findings > 0', c.keyRotationThresholdSeconds),
    AwsIamAccountKeysUnused: t('count of AwsIamAccessKeyUnused findings > 0', c.keyUnusedThresholdSeconds),
    AwsIamAccountUsersWithTwoActiveKeys: t('count of AwsIamUserHasTwoActiveKeys findings > 0', c.twoActiveKeysGraceSeconds),
    AwsIamAccountConsoleUsersWithoutMFA: t('count of AwsIamConsoleUserWithoutMFA findings > 0', c.mfaEnrolmentGraceSeconds),
    AwsIamAccountPasswordsUnused: t('count of AwsIamPasswordUnused findings > 0', c.passwordUnusedThresholdSeconds),
    AwsIamAccountConsoleUsersWithUnusedKeys: t('count of AwsIamConsoleUserKeyNeverUsed findings > 0', c.consoleUserKeyGraceSeconds),
    AwsIamAccountUsersInactive: t('count of AwsIamUserInactive findings > 0', c.userInactiveThresholdSeconds),
    AwsIamRoleUnused: t('role idle >= %s (since creation if unused)' % days(c.roleUnusedThresholdSeconds), c.roleUnusedThresholdSeconds),
    AwsIamAccountSigningCertificatesNotRotated: t('count of AwsIamSigningCertificateNotRotated findings > 0', c.signingCertificateRotationThresholdSeconds),
    AwsIamAccountRolesUnused: t('count of AwsIamRoleUnused findings > 0', c.roleUnusedThresholdSeconds),
    AwsIamSigningCertificateNotRotated: t('active signing certificate age > %s' % days(c.signingCertificateRotationThresholdSeconds), c.signingCertificateRotationThresholdSeconds),
    AwsIamPasswordPolicyMissing: t('no password policy', null),
    AwsIamPasswordPolicyTooShort: t('minimum length < %d' % c.passwordMinimumLength, null),
    AwsIamPasswordPolicyReuseTooLow: t('reuse prevention < %d' % c.passwordReusePrevention, null),
    AwsIamServerCertificateExpiringSoon: t('expires within %s' % days(c.serverCertificateExpiryWarningSeconds), c.serverCertificateExpiryWarningSeconds),
    AwsIamServerCertificateExpired: t('expired certificate stored', null),
    AwsIamRootAccessKeyActive: t('root has an active access key', null),
    AwsIamRootAccessKeyInactive: t('root has an inactive access key', null),
    AwsIamRootWithoutMFA: t('root has no MFA but may have a password', c.rootAuditMaxAgeSeconds),
    AwsIamRootRecentlyUsed: t('root password or key used recently', c.rootRecentUseWindowSeconds),
    AwsIamRootMFAVirtual: t('root has a virtual MFA device', null),
    AwsIamRootAccessKeyPresent: t('account summary: root has a key the report lacks', null),
    AwsIamRootSigningCertificatePresent: t('account summary: root has a signing certificate', null),
    AwsIamCentralizedRootAccessDisabled: t('RootCredentialsManagement not enabled', null),
    AwsIamUserHasDirectPolicies: t('user has inline or directly attached policies', null),
    AwsIamSupportRoleMissing: t('no role with AWSSupportAccess', null),
    AwsIamCloudShellFullAccessAttached: t('AWSCloudShellFullAccess attached to a user, group or role', null),
    AwsIamQuotaNearlyExhausted: t('IAM quota used > %d%%' % std.floor(c.quotaUsageThreshold * 100 + 0.5), null),
    AwsIamPasswordPolicyClassNotRequired: t('upper, lower, symbol or number not required', null),
    AwsIamPasswordPolicyExpiryTooLong: t('passwords never expire or live > %s' % days(c.passwordMaxAgeSeconds), c.passwordMaxAgeSeconds),
    AwsIamUserWithoutMFA: t('no console password, no MFA, older than grace', c.mfaEnrolmentGraceSeconds),
    AwsIamServiceCredentialNeverExpires: t('active API key: no expiry, or lifetime > %s' % days(c.serviceCredentialMaxLifetimeSeconds), c.serviceCredentialMaxLifetimeSeconds),
    AwsIamServiceCredentialExpiringSoon: t('active credential expires within %s' % days(c.serviceCredentialExpiryWarningSeconds), c.serviceCredentialExpiryWarningSeconds),
    AwsIamServiceCredentialNotRotated: t('active credential age > %s' % days(c.serviceCredentialRotationThresholdSeconds), c.serviceCredentialRotationThresholdSeconds),
    AwsIamExporterDown: t('scrape of the exporter fails', null),
    AwsIamExporterAbsent: t('no exporter target is scraped at all', null),
    AwsIamExporterNoAccounts: t('exporter up, no account exported (nor by its other shards)', null),
    AwsIamExporterRefreshFailing: t('last refresh of an account failed', null),
    AwsIamExporterCollectorFailing: t('last attempt of a collector failed for some accounts', null),
    AwsIamExporterDataStale: t('last success > N refresh intervals + grace', c.dataStaleGraceSeconds),
    AwsIamCredentialReportStale: t('report from AWS older than threshold', c.reportStaleThresholdSeconds),
    AwsIamCredentialReportRowsSkipped: t('report rows could not be parsed', null),
  },

  prometheusAlerts+:: {
    groups+: std.prune([
      if c.perKeyAlerts then { name: 'iam-credentials-findings', rules: perKey },
      if c.perAccountSummaries then { name: 'iam-credentials-account-summaries', rules: perAccount },
      if c.accountAlerts then { name: 'iam-credentials-account-settings', rules: account },
      if c.rootAlerts then { name: 'iam-credentials-root', rules: root },
      if c.fsbpAlerts then { name: 'iam-credentials-fsbp', rules: fsbpOnly },
      if c.serviceCredentialAlerts then { name: 'iam-credentials-service-credentials', rules: serviceCredentials },
      if c.exporterAlerts then { name: 'iam-credentials-exporter', rules: exporter },
    ]),
  },
}
