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
  },

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
                  aws_iam_access_key_age_seconds{%(sel)s, user!="%(root)s"} < 2592000
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
                  aws_iam_access_key_age_seconds{%(sel)s, user!="%(root)s"} >= 2592000
                  and
                  aws_iam_access_key_age_seconds{%(sel)s, user!="%(root)s"} <= 7776000
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
                  aws_iam_access_key_age_seconds{%(sel)s, user!="%(root)s"} > 7776000
                  and
                  aws_iam_access_key_age_seconds{%(sel)s, user!="%(root)s"} <= 15552000
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
                  aws_iam_access_key_age_seconds{%(sel)s, user!="%(root)s"} > 15552000
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
                  aws_iam_access_key_age_seconds{%(sel)s, user!="%(root)s"} > %(keyRotation)d
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
                  aws_iam_access_key_idle_seconds{%(sel)s, user!="%(root)s"} >= %(keyUnused)d
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
                  aws_iam_user_idle_seconds{%(sel)s, user!="%(root)s"} >= %(userInactive)d
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
            // 0, like root with MFA, where an audit found root holds no
            // credential (AwsIamRootWithoutMFA is silent there too).
            expr: |||
              max by (account_id) (
                (1 - aws_iam_user_mfa_active{%(sel)s, user="%(root)s"})
                unless on (account_id)
                (
              %(noCredential)s  )
              )
              or
              0 * max by (account_id) (aws_iam_user_mfa_active{%(sel)s, user="%(root)s"})
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
    ],
  },
}
