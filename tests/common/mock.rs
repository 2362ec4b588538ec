//! What the tests that drive the SDK's mock client (`aws-smithy-mocks`)
//! share: IAM error responses, the credential report's two calls, and the
//! exposition of a store.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput;
use aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput;
use aws_sdk_iam::primitives::{Blob, DateTime};
use aws_sdk_iam::types::{ReportFormatType, ReportStateType};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::exposition::Format;
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::snapshot::Store;

/// An IAM error response with `code`, as AWS sends it.
pub fn aws_error(status: u16, code: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} for test</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        )),
    )
}

/// A credential report that is ready at once: `GenerateCredentialReport`
/// answers COMPLETE and `GetCredentialReport` returns `report`, generated at
/// `generated` if given.
pub fn report_rules(report: impl Into<String>, generated: Option<i64>) -> [Rule; 2] {
    let report = report.into();
    [
        mock!(Client::generate_credential_report).then_output(|| {
            GenerateCredentialReportOutput::builder()
                .state(ReportStateType::Complete)
                .build()
        }),
        mock!(Client::get_credential_report).then_output(move || {
            GetCredentialReportOutput::builder()
                .content(Blob::new(report.clone()))
                .report_format(ReportFormatType::TextCsv)
                .set_generated_time(generated.map(DateTime::from_secs))
                .build()
        }),
    ]
}

/// The text exposition of `store` at `now`, with or without the age families.
pub fn render(store: &Arc<Store>, now: i64, api: &ApiMetrics, ages: bool) -> String {
    let exposition = Exposition::new(
        Arc::clone(store),
        Arc::new(move || now),
        Duration::from_secs(300),
        api,
    )
    .with_ages(ages);
    exposition
        .render(&exposition.snapshot(), Format::Text)
        .unwrap()
}

/// A refresher of one AWS account, `account`, read with `client` (the
/// credential report) and `collectors`, into `store` at `clock`.
pub fn one_account(
    client: Client,
    account: &str,
    collectors: iam_credentials_exporter::collectors::Collectors,
    store: Arc<Store>,
    api: ApiMetrics,
    clock: iam_credentials_exporter::time::Clock,
) -> iam_credentials_exporter::refresh::Refresher {
    use iam_credentials_exporter::accounts::{Accounts, Target};
    use iam_credentials_exporter::report::fetch::PollPolicy;
    use iam_credentials_exporter::source::{Source, SourceKinds};

    let source = Source::Aws {
        client,
        kinds: SourceKinds::REPORT,
        poll: PollPolicy::default(),
        concurrency: 1,
    };
    iam_credentials_exporter::refresh::Refresher::new(
        Accounts::Static(vec![Arc::new(
            Target::new(account, source)
                .with_account_id(account)
                .with_collectors(collectors),
        )]),
        store,
        api,
        clock,
    )
}
