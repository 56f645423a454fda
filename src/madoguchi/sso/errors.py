"""Why a single sign-on failed: stable codes (for the audit log and tests) and Japanese text."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext as _


class SsoErrorCode(StrEnum):
    NOT_CONFIGURED = "not_configured"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER_MISCONFIGURED = "provider_misconfigured"
    PROVIDER_REFUSED = "provider_refused"
    STATE_MISMATCH = "state_mismatch"
    TOKEN_REFUSED = "token_refused"  # noqa: S105 (an error code, not a secret)
    BAD_SIGNATURE = "bad_signature"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_NONCE = "wrong_nonce"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105
    NOT_INVITED = "not_invited"
    NO_ROLE = "no_role"
    ACCOUNT_DISABLED = "account_disabled"
    RATE_LIMITED = "rate_limited"


class SsoError(Exception):
    """A refused or failed sign-in; ``detail`` (English) goes to the audit log, not to the page."""

    def __init__(self, code: SsoErrorCode, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.detail = detail

    @property
    def message(self) -> str:
        return sso_error_message(self.code)


def sso_error_message(code: SsoErrorCode) -> str:
    token = _("認証サービスから届いたサインイン情報")
    messages = {
        SsoErrorCode.NOT_CONFIGURED: _(
            "この自治体では、外部のアカウントによるサインインが設定されていません。"
        ),
        SsoErrorCode.PROVIDER_UNAVAILABLE: _(
            "認証サービスに接続できませんでした。しばらくしてからもう一度お試しください。"
        ),
        SsoErrorCode.PROVIDER_MISCONFIGURED: _(
            "認証サービスの設定が正しくないため、サインインできません。"
            "この自治体のシステム管理者に連絡してください。"
        ),
        SsoErrorCode.PROVIDER_REFUSED: _(
            "認証サービスでサインインが完了しませんでした。もう一度お試しください。"
        ),
        SsoErrorCode.STATE_MISMATCH: _(
            "サインインの手続きの期限が切れたか、別の画面で始めた手続きでした。"
            "もう一度サインインしてください。"
        ),
        SsoErrorCode.TOKEN_REFUSED: _(
            "認証サービスから正しい応答が得られませんでした。もう一度サインインしてください。"
        ),
        SsoErrorCode.BAD_SIGNATURE: _("%(what)sの署名を確認できませんでした。") % {"what": token},
        SsoErrorCode.WRONG_ISSUER: _("%(what)sの発行元が、この自治体の設定と一致しません。")
        % {"what": token},
        SsoErrorCode.WRONG_AUDIENCE: _("%(what)sは、このサービスあてのものではありません。")
        % {"what": token},
        SsoErrorCode.WRONG_NONCE: _(
            "%(what)sが、この画面で始めたサインインのものではありません。"
            "もう一度サインインしてください。"
        )
        % {"what": token},
        SsoErrorCode.TOKEN_EXPIRED: _(
            "%(what)sの有効期限が切れています。もう一度サインインしてください。"
            "続く場合は、サーバーの時計がずれていないかシステム管理者に確認してください。"
        )
        % {"what": token},
        SsoErrorCode.NOT_INVITED: _(
            "このアカウントは、この自治体の職員として登録されていません。"
            "管理者に招待を依頼してください。"
        ),
        SsoErrorCode.NO_ROLE: _(
            "このアカウントには、この自治体で使える役割が割り当てられていません。"
            "管理者に確認してください。"
        ),
        SsoErrorCode.ACCOUNT_DISABLED: _(
            "このアカウントは利用が停止されています。管理者に確認してください。"
        ),
        SsoErrorCode.RATE_LIMITED: _(
            "短時間に多くのサインインが試みられました。しばらくしてからもう一度お試しください。"
        ),
    }
    return messages[code]


class SsoSettingsErrorCode(StrEnum):
    INSECURE_ISSUER = "insecure_issuer"
    NOT_ENABLED = "not_enabled"
    REQUIRE_UNTESTED = "require_untested"
    FOREIGN_DEPARTMENT = "foreign_department"
    DUPLICATE_MAPPING = "duplicate_mapping"
    UNKNOWN_MAPPING = "unknown_mapping"


class SsoSettingsError(Exception):
    """A change to the SSO settings that cannot be made, with a Japanese message."""

    def __init__(self, code: SsoSettingsErrorCode) -> None:
        super().__init__(str(code))
        self.code = code

    @property
    def message(self) -> str:
        messages = {
            SsoSettingsErrorCode.INSECURE_ISSUER: _(
                "発行者URLは https:// で始まるURLを入力してください"
                "（http:// はこのサーバー自身（127.0.0.1・localhost）の場合だけ使えます）。"
            ),
            SsoSettingsErrorCode.NOT_ENABLED: _(
                "パスワードでのサインインを禁止するには、シングルサインオンを有効にしてください。"
            ),
            SsoSettingsErrorCode.REQUIRE_UNTESTED: _(
                "パスワードでのサインインを禁止する前に、一度この自治体のアカウントでサインインして"
                "動作を確かめてください（サインアウトしてから「アカウントでサインイン」を使います）。"
            ),
            SsoSettingsErrorCode.FOREIGN_DEPARTMENT: _("選んだ部署が見つかりません。"),
            SsoSettingsErrorCode.DUPLICATE_MAPPING: _(
                "同じクレームと値、部署の組み合わせはすでに登録されています。"
            ),
            SsoSettingsErrorCode.UNKNOWN_MAPPING: _(
                "その対応はすでに削除されています。画面を読み込み直してください。"
            ),
        }
        return messages[self.code]
