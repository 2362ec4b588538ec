// Recording rules for the dashboards, rendered to
// alerts/iam-credentials.recording.yml by mixin/render.py. Names follow
// level:metric:operations; the level is always account_id. Per-account counts
// are deduplicated over (account_id, user, slot), so replicas count once.
{
  local c = $._config,
  local v = {
    sel: c.selector,
    root: c.rootUser,
    keyRotation: c.keyRotationThresholdSeconds,
    keyUnused: c.keyUnusedThresholdSeconds,
    userInactive: c.userInactiveThresholdSeconds,
    noCredential: std.join('\n', ['    ' + l for l in std.split(std.rstripChars($.rootExprs.noCredential, '\n'), '\n')]) + '\n',
    withoutMFA: indent($.rootExprs.withoutMFA, 6),
    keyAge: $.ageExprs.keyAge('user!="%s"' % c.rootUser),
    keyIdle: std.rstripChars(indent($.ageExprs.keyIdle('user!="%s"' % c.rootUser), 6), '\n'),
    userIdle: std.rstripChars(indent($.ageExprs.userIdle('user!="%s"' % c.rootUser), 6), '\n'),
  },
  local indent(text, n) =
    local pad = std.repeat(' ', n);
    std.join('\n', [if l == '' then l else pad + l for l in std.split(std.rstripChars(text, '\n'), '\n')]) + '\n',

  // Posture: for each benchmark control and account, what is checked and
  // what fails, at the benchmark's own threshold (controlThresholds), so that
  // a dashboard shows passing and failing accounts per control now and over
  // time. Three series per account and control, labelled with the control
  // (cis, fsbp, or both where they ask the same):
  //   account_id:aws_iam_control_checked:count  resources checked (keys,
  //                                             users, certificates; 1 for
  //                                             an account-wide setting)
  //   account_id:aws_iam_control_failing:count  those that fail
  //   account_id:aws_iam_control_failing:bool   1 if any fails, 0 if none
  // A series exists only where the exporter has the data the control needs
  // (the credential report, the collector): absent means not measured, never
  // passing.
  local t = c.controlThresholds,
  local s = c.selector,
  local sl(extra) = '{%s, %s}' % [s, extra],
  local root = 'user="%s"' % c.rootUser,
  local notRoot = 'user!="%s"' % c.rootUser,
  local scopes = {
    report: 'aws_iam_user_info{%s}' % s,
    root: 'aws_iam_user_info%s' % sl(root),
    rootMFA: 'aws_iam_user_mfa_active%s\nor\naws_iam_account_root_mfa_enabled{%s}' % [sl(root), s],
    rootKeys: 'aws_iam_user_info%s\nor\naws_iam_account_root_access_keys_present{%s}' % [sl(root), s],
    virtualMFA: '(\n  aws_iam_user_mfa_active%s\n  or\n  aws_iam_account_root_mfa_enabled{%s}\n)\nand on (account_id)\naws_iam_exporter_collector_success%s' % [sl(root), s, sl('collector="virtual-mfa"')],
    policy: 'aws_iam_password_policy_present{%s}' % s,
    serverCerts: 'aws_iam_exporter_collector_success%s' % sl('collector="server-certificates"'),
  },
  // failing and checked: series whose count per account is the figure (one
  // per account for an account-wide setting). A missing count is 0 where the
  // scope is known.
  local control(labels, scope, failing, checked=null) =
    local count(expr) = 'count by (account_id) (\n%s)\nor\n0 * group by (account_id) (\n%s)\n' % [indent(expr, 2), indent(scope, 2)];
    [
      {
        record: 'account_id:aws_iam_control_checked:count',
        expr: count(if checked == null then perAccount(scope) else checked),
        labels: labels,
      },
      {
        record: 'account_id:aws_iam_control_failing:count',
        expr: count(failing),
        labels: labels,
      },
      {
        record: 'account_id:aws_iam_control_failing:bool',
        expr: '(\n%s) > bool 0\n' % indent(count(failing), 2),
        labels: labels,
      },
    ],
  // Account-wide: one series per account where the control fails.
  local perAccount(expr) = 'group by (account_id) (\n%s)' % indent(expr, 2),
  local policyFails(passes) = perAccount('aws_iam_password_policy_present{%s}\nunless on (account_id)\n(\n%s)' % [s, indent(passes, 2)]),
  local m(metric, extra='') = metric + (if extra == '' then '{%s}' % s else sl(extra)),
  local activeKey = '%s == 1' % m('aws_iam_access_key_active', notRoot),
  local unusedCredentials(seconds) = |||
    group by (account_id, user, slot) (
      (
    %s  ) >= %d
      and
      %s
    )
    or
    group by (account_id, user) (
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
    )
  ||| % [
    indent($.ageExprs.keyIdle(notRoot), 4), seconds, activeKey,
    m('aws_iam_user_password_last_used_timestamp_seconds', notRoot),
    m('aws_iam_user_password_last_changed_timestamp_seconds', notRoot),
    m('aws_iam_user_created_timestamp_seconds', notRoot),
    seconds,
    m('aws_iam_user_password_enabled', notRoot),
  ],
  local credentials = |||
    group by (account_id, user, slot) (%s)
    or
    group by (account_id, user) (%s == 1)
  ||| % [activeKey, m('aws_iam_user_password_enabled', notRoot)],
  local classes = [
    ['IAM.11', 'aws_iam_password_policy_require_uppercase_characters'],
    ['IAM.12', 'aws_iam_password_policy_require_lowercase_characters'],
    ['IAM.13', 'aws_iam_password_policy_require_symbols'],
    ['IAM.14', 'aws_iam_password_policy_require_numbers'],
  ],
  local controlRules =
    control(
      { cis: '2.4', fsbp: 'IAM.4' },
      scopes.rootKeys,
      perAccount('%s\nor\n%s == 1' % [m('aws_iam_access_key_active', root), m('aws_iam_account_root_access_keys_present')]),
    ) +
    control({ cis: '2.5', fsbp: 'IAM.9' }, scopes.rootMFA, perAccount($.rootExprs.withoutMFA)) +
    control(
      { cis: '2.6', fsbp: 'IAM.6' },
      scopes.virtualMFA,
      perAccount('%s == 1\nor\n%s' % [m('aws_iam_user_mfa_virtual', root), std.rstripChars($.rootExprs.withoutMFA, '\n')]),
    ) +
    control(
      { cis: '2.7' },
      scopes.root,
      perAccount('time() - %s < %d' % [m('aws_iam_user_last_activity_timestamp_seconds', root), c.rootRecentUseWindowSeconds]),
    ) +
    control(
      { cis: '2.8', fsbp: 'IAM.15' },
      scopes.policy,
      policyFails('%s >= %d' % [m('aws_iam_password_policy_minimum_length'), t.passwordMinimumLengthCis]),
    ) +
    control(
      { fsbp: 'IAM.7' },
      scopes.policy,
      policyFails(std.join('\nand on (account_id)\n', ['%s >= %d' % [m('aws_iam_password_policy_minimum_length'), t.passwordMinimumLengthFsbp]] + ['%s == 1' % m(k[1]) for k in classes])),
    ) +
    std.flattenArrays([
      control({ fsbp: k[0] }, scopes.policy, policyFails('%s == 1' % m(k[1])))
      for k in classes
    ]) +
    control(
      { cis: '2.9', fsbp: 'IAM.16' },
      scopes.policy,
      policyFails('%s >= %d' % [m('aws_iam_password_policy_reuse_prevention'), t.passwordReusePrevention]),
    ) +
    control(
      { fsbp: 'IAM.17' },
      scopes.policy,
      policyFails('%s <= %d' % [m('aws_iam_password_policy_max_age_seconds'), t.passwordMaxAgeSeconds]),
    ) +
    control(
      { cis: '2.10', fsbp: 'IAM.5' },
      scopes.report,
      '%s == 0\nand on (account_id, user)\n%s == 1' % [m('aws_iam_user_mfa_active', notRoot), m('aws_iam_user_password_enabled', notRoot)],
      '%s == 1' % m('aws_iam_user_password_enabled', notRoot),
    ) +
    control(
      { fsbp: 'IAM.19' },
      scopes.report,
      '%s == 0' % m('aws_iam_user_mfa_active', notRoot),
      m('aws_iam_user_mfa_active', notRoot),
    ) +
    control({ cis: '2.11', fsbp: 'IAM.22' }, scopes.report, unusedCredentials(t.credentialUnusedCisSeconds), credentials) +
    control({ fsbp: 'IAM.8' }, scopes.report, unusedCredentials(t.credentialUnusedFsbpSeconds), credentials) +
    control(
      { cis: '2.12', fsbp: 'IAM.3' },
      scopes.report,
      '%s > %d\nand\n%s' % [$.ageExprs.keyAge(notRoot), t.keyRotationSeconds, activeKey],
      activeKey,
    ) +
    control(
      { cis: '2.17', fsbp: 'IAM.26' },
      scopes.serverCerts,
      'time() - %s >= 0' % m('aws_iam_server_certificate_expiration_timestamp_seconds'),
      m('aws_iam_server_certificate_expiration_timestamp_seconds'),
    ),

  prometheusRules+:: {
    groups+: [
      {
        name: 'iam-credentials-recording',
        rules: [
          {
            record: 'account_id:aws_iam_access_keys_active:count_by_age_bucket',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                  and
                  %(keyAge)s < 2592000
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
            labels: { age_bucket: '<30d' },
          },
          {
            record: 'account_id:aws_iam_access_keys_active:count_by_age_bucket',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                  and
                  %(keyAge)s >= 2592000
                  and
                  %(keyAge)s <= 7776000
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
            labels: { age_bucket: '30-90d' },
          },
          {
            record: 'account_id:aws_iam_access_keys_active:count_by_age_bucket',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                  and
                  %(keyAge)s > 7776000
                  and
                  %(keyAge)s <= 15552000
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
            labels: { age_bucket: '90-180d' },
          },
          {
            record: 'account_id:aws_iam_access_keys_active:count_by_age_bucket',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                  and
                  %(keyAge)s > 15552000
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
            labels: { age_bucket: '>180d' },
          },
          {
            record: 'account_id:aws_iam_access_keys_active:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_access_keys_not_rotated:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                  and
                  %(keyAge)s > %(keyRotation)d
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_access_keys_unused:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                  and
                  (
              %(keyIdle)s
                  ) >= %(keyUnused)d
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_access_keys_never_used:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user, slot) (
                  aws_iam_access_key_active{%(sel)s, user!="%(root)s"} == 1
                  and
                  aws_iam_access_key_never_used{%(sel)s, user!="%(root)s"} == 1
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_users:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user) (
                  aws_iam_user_info{%(sel)s, user!="%(root)s"}
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_console_users:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user) (
                  aws_iam_user_password_enabled{%(sel)s, user!="%(root)s"} == 1
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_users_without_mfa:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user) (
                  aws_iam_user_mfa_active{%(sel)s, user!="%(root)s"} == 0
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_console_users_without_mfa:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user) (
                  aws_iam_user_mfa_active{%(sel)s, user!="%(root)s"} == 0
                  and
                  aws_iam_user_password_enabled{%(sel)s, user!="%(root)s"} == 1
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_users_with_two_active_keys:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user) (
                  aws_iam_user_active_access_keys{%(sel)s, user!="%(root)s"} >= 2
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_users_inactive:count',
            expr: |||
              count by (account_id) (
                group by (account_id, user) (
                  (
              %(userIdle)s
                  ) >= %(userInactive)d
                )
              )
              or
              0 * group by (account_id) (aws_iam_user_info{%(sel)s})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_root_access_keys_active:count',
            expr: |||
              count by (account_id) (
                group by (account_id, slot) (
                  aws_iam_access_key_active{%(sel)s, user="%(root)s"} == 1
                )
              )
              or
              # 0 only where the root row is known: a source without it (the API,
              # or moto) must not read as "no root keys".
              0 * group by (account_id) (aws_iam_user_info{%(sel)s, user="%(root)s"})
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_root_without_mfa:max',
            // 1 where AwsIamRootWithoutMFA fires; 0, like root with MFA,
            // where root has no password or an audit found it holds no
            // credential.
            expr: |||
              group by (account_id) (
              %(withoutMFA)s)
              or
              0 * group by (account_id) (
                aws_iam_user_mfa_active{%(sel)s, user="%(root)s"}
                or
                aws_iam_account_root_mfa_enabled{%(sel)s}
              )
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_root_last_activity_timestamp_seconds:max',
            expr: |||
              max by (account_id) (
                aws_iam_user_last_activity_timestamp_seconds{%(sel)s, user="%(root)s"}
              )
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_credential_report_age_seconds:min',
            expr: |||
              time() - max by (account_id) (
                aws_iam_credential_report_generated_timestamp_seconds{%(sel)s}
              )
            ||| % v,
          },
          {
            record: 'account_id:aws_iam_exporter_last_refresh_success_age_seconds:min',
            expr: |||
              time() - max by (account_id) (
                aws_iam_exporter_account_last_refresh_success_timestamp_seconds{%(sel)s}
              )
            ||| % v,
          },
        ],
      },
      {
        name: 'iam-credentials-controls',
        rules: controlRules,
      },
    ],
  },
}
