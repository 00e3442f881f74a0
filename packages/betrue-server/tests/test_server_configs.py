"""ConfigLoader: every service's config at once, forced values, the check report and the env docs."""

from __future__ import annotations

from betrue.config import Config, env
from betrue.server import Application, HttpAdapter, Service


class MailConfig(Config):
    """Mail"""

    url: str = env("MAIL_URL", description="Where mail goes")


class Mail(Service):
    name = "mail"
    config_class = MailConfig


def make_app(**environ: str) -> Application:
    app = Application("mail", env_file=None, environ=environ)
    app.add_service(Mail, name="mail_eu", context="eu", description="Mail in the EU")
    return app


def test_check_reports_every_problem_without_raising() -> None:
    app = make_app(HTTP_PORT="-1")
    report = app.loader.check(app.container.specs.values())
    assert not report.ok
    text = report.render()
    assert "EU_MAIL_URL" in text
    assert "HTTP_PORT" in text


def test_docs_have_a_table_per_service_under_its_context() -> None:
    app = make_app()
    docs = app.loader.docs(app.container.specs.values())
    assert "## Mail in the EU (context: EU)" in docs
    assert "## HTTP server" in docs
    assert "`HTTP_HEADER_TIMEOUT`" in docs


def test_forced_values_win_over_the_environment() -> None:
    app = make_app(HTTP_PORT="8080", EU_MAIL_URL="smtp://eu")
    app.loader.forced["http"] = {"port": 0}
    configs = app.loader.load_all(app.container.specs.values())
    assert configs["http"].port == 0  # type: ignore[attr-defined]
    assert configs["mail_eu"].url == "smtp://eu"  # type: ignore[attr-defined]
    assert isinstance(app.container.specs["http"].factory, type)
    assert app.container.specs["http"].factory is HttpAdapter
