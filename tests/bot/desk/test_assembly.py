"""create_app builds fresh blueprints: desk apps side by side in one process, each on its own services."""

from bot.desk.app import create_app
from bot.settings import Settings


def routes(app):
    return {(method, "/" + route.path) for route in app.router.routes for method in route.methods}


def test_two_desk_apps_in_one_process_have_the_same_routes_and_their_own_services(tmp_path):
    settings = Settings.from_env({"COMPLAINTS_VAR_DIR": str(tmp_path)})
    first, second = create_app(settings, name="desk-assembly-a"), create_app(settings, name="desk-assembly-b")
    assert routes(first) == routes(second)
    assert {
        ("GET", "/"),
        ("POST", "/login"),
        ("GET", "/api/queue/stream"),
        ("POST", "/api/handoffs/<request_id:handoff_id>/ticket/phone"),
    } <= routes(first)
    assert first.ctx.desk is not second.ctx.desk
    for app in (first, second):
        app.ctx.desk.db.dispose()
