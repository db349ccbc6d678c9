"""The web application: REST API under /api/v1, server-rendered pages, local static assets."""

from __future__ import annotations

from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resynergy import __version__
from resynergy.services import database
from resynergy.services.accounts import Accounts
from resynergy.services.runs import Supervisor
from resynergy.services.settings import Settings
from resynergy.web import errors, pages
from resynergy.web.api import accounts, imports, public, registry, runs
from resynergy.web.api import actuals as actual_flows
from resynergy.web.api import batteries as battery_api
from resynergy.web.api import evaluation as evaluation_api
from resynergy.web.api import exchange as exchange_api
from resynergy.web.api import manifests as manifests_api
from resynergy.web.deps import Platform
from resynergy.web.pages import templates

STATIC = Path(str(files("resynergy.web") / "static"))
# plotly.js ships inside the plotly wheel: served from there, no copy and no CDN.
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


class SecurityHeaders:
    """Headers for every response (ASVS 3.4): CSP, nosniff, referrer policy, no framing."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {b"x-content-type-options": b"nosniff", b"referrer-policy": b"same-origin",
                         b"x-frame-options": b"DENY", b"content-security-policy": CSP.encode()}
                if not scope["path"].startswith("/static/"):
                    extra[b"cache-control"] = b"no-store"
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DeclaredSizeLimit:
    """413 with the API's error body when Content-Length already says the body is too large.

    Bodies without a length are counted as they arrive by Starlette's RequestBodyLimitMiddleware."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int):
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers", [])).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.limit:
                mb = self.upload_limit // (1024 * 1024)
                err = errors.error_for(413, zh=f"请求超过 {mb} MB 上限", en=f"request exceeds the {mb} MB limit")
                await errors.json_response(err)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class App(FastAPI):
    """FastAPI with the security headers outermost: Starlette puts its ServerErrorMiddleware (which
    draws 500 responses) outside every added middleware, so headers added as a middleware would
    miss exactly the responses to unexpected errors."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(settings: Settings | None = None, *, migrate: bool = True, run_worker: bool = True) -> FastAPI:
    """Build the app. ``migrate`` brings the database up to date first; ``run_worker`` starts the
    supervisor that executes planning runs in worker processes."""
    settings = settings or Settings.from_env()
    engine, sessions = database.connect(settings.database_url, migrate=migrate)
    supervisor = Supervisor(sessions, settings.database_url, settings.run_workers, settings.worker_poll_s,
                            settings.run_time_limit_s) if run_worker else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if supervisor is not None:
            supervisor.start()
        yield
        if supervisor is not None:
            supervisor.stop()
        engine.dispose()

    app = App(
        title="resynergy", version=__version__, lifespan=lifespan,
        summary="工业固废与再生资源区域协同利用规划平台 / Regional planning of industrial solid-waste and "
                "recycled-resource utilization",
        description="REST API. 认证：`POST /api/v1/auth/token` 取得令牌，之后带 `Authorization: Bearer <token>`。"
                    "Errors share one body: `code`, `message` (zh/en), `field`, and `issues` for data errors.",
        # Swagger UI and ReDoc load their scripts from a CDN, so they stay off (offline deployments);
        # the OpenAPI document itself is served.
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/v1/openapi.json" if settings.expose_docs else None)
    app.state.platform = Platform(settings, sessions, Accounts(settings), supervisor, templates.environment())
    api = APIRouter(prefix="/api/v1")
    for module in (accounts, registry, imports, runs, public,
                   actual_flows, exchange_api, manifests_api, battery_api,
                   evaluation_api):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app, pages.render_error)
    limit = settings.upload_max_bytes + 1024 * 1024
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=limit)  # counts bodies as they arrive
    app.add_middleware(DeclaredSizeLimit, limit=limit, upload_limit=settings.upload_max_bytes)
    # pages, JSON and figures compressed for clients that accept gzip (bodies already gzip-encoded,
    # like the stored report and plotly.js, pass through as they are)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    return app
