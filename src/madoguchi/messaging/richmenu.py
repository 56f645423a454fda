"""The LINE rich menu of a municipality, built from the services it has switched on.

Each public service of the top page (procedures, status, chat, self-report …) becomes a tile
opening its page; when the municipality has bookable resources, a tile 予約 sends the postback
``reservations:menu`` (booking on LINE, :mod:`madoguchi.reservations.line`); when it offers
topics, a tile お知らせ設定 sends the postback ``messaging:menu`` (see
:mod:`madoguchi.messaging.line`). At most six tiles, 3 x 2, on a
2500 x 1686 image drawn here. Uploaded through line-bot-sdk to the configured API bases and
made the account's default menu.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.selectors import line_channel_get
from madoguchi.core.menus import public_services
from madoguchi.messaging import selectors
from madoguchi.messaging.errors import MessagingError, MessagingErrorCode
from madoguchi.tenants.models import Municipality

__all__ = ["Tile", "rich_menu_image", "rich_menu_request", "rich_menu_tiles", "rich_menu_upload"]

WIDTH: Final = 2500
HEIGHT: Final = 1686
COLUMNS: Final = 3
ROWS: Final = 2
# Fonts with Japanese glyphs, first found wins (Debian: fonts-ipafont-gothic, fonts-noto-cjk).
_FONTS: Final = (
    "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


@dataclass(frozen=True, slots=True)
class Tile:
    label: str
    uri: str = ""
    postback: str = ""


def rich_menu_tiles(*, municipality: Municipality) -> list[Tile]:
    """The tiles: the switched-on services, 予約 when resources are bookable, then お知らせ設定
    when topics are offered."""
    from madoguchi.reservations.selectors import resource_list

    tiles = [
        Tile(str(service.label), uri=settings.MADOGUCHI_SITE_URL + service.url)
        for service in public_services(municipality)
        if service.key not in {"messaging", "line", "reservations"}
    ]
    if resource_list(municipality=municipality).exists():  # booking on LINE itself
        tiles.append(Tile(_("予約"), postback="reservations:menu"))
    if selectors.topic_list(municipality=municipality, active_only=True).exists():
        tiles.append(Tile(_("お知らせ設定"), postback="messaging:menu"))
    return tiles[-COLUMNS * ROWS :] if len(tiles) > COLUMNS * ROWS else tiles


def _bounds(index: int) -> tuple[int, int, int, int]:
    width, height = WIDTH // COLUMNS, HEIGHT // ROWS
    return (index % COLUMNS) * width, (index // COLUMNS) * height, width, height


def rich_menu_request(*, municipality: Municipality, tiles: list[Tile]) -> Any:
    from linebot.v3.messaging import (
        MessageAction,
        PostbackAction,
        RichMenuArea,
        RichMenuBounds,
        RichMenuRequest,
        RichMenuSize,
        URIAction,
    )

    areas = []
    for index, tile in enumerate(tiles):
        x, y, width, height = _bounds(index)
        action: Any
        if tile.postback:
            action = PostbackAction(
                label=tile.label[:20], data=tile.postback, displayText=tile.label
            )
        elif tile.uri:
            action = URIAction(label=tile.label[:20], uri=tile.uri)
        else:
            action = MessageAction(label=tile.label[:20], text=tile.label)
        areas.append(
            RichMenuArea(bounds=RichMenuBounds(x=x, y=y, width=width, height=height), action=action)
        )
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name=f"madoguchi {municipality.slug}"[:300],
        chatBarText=_("メニュー"),
        areas=areas,
    )


def rich_menu_image(*, tiles: list[Tile]) -> bytes:
    """A PNG of the tiles with their labels (plain tiles when no Japanese font is installed)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (WIDTH, HEIGHT), "#ffffff")
    draw = ImageDraw.Draw(image)
    font_path = next((p for p in _FONTS if Path(p).exists()), None)
    font: Any = (
        ImageFont.truetype(font_path, 96) if font_path is not None else ImageFont.load_default()
    )
    for index, tile in enumerate(tiles):
        x, y, width, height = _bounds(index)
        draw.rectangle((x + 8, y + 8, x + width - 8, y + height - 8), fill="#0017c1")
        text = tile.label if len(tile.label) <= 8 else tile.label[:8] + "\n" + tile.label[8:16]
        draw.multiline_text(
            (x + width // 2, y + height // 2),
            text,
            fill="#ffffff",
            font=font,
            anchor="mm",
            align="center",
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def rich_menu_upload(*, municipality: Municipality, actor: AuditActor) -> str:
    """Create the menu, upload its image, make it the default; returns the rich menu id."""
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob
    from linebot.v3.messaging.exceptions import ApiException

    channel = line_channel_get(municipality=municipality)
    if channel is None or not channel.is_active:
        raise MessagingError(
            MessagingErrorCode.LINE_NOT_CONFIGURED, _("LINE公式アカウントが設定されていません。")
        )
    tiles = rich_menu_tiles(municipality=municipality)
    if not tiles:
        raise MessagingError(
            MessagingErrorCode.LINE_NOT_CONFIGURED, _("メニューに載せるサービスがありません。")
        )
    request = rich_menu_request(municipality=municipality, tiles=tiles)
    image = rich_menu_image(tiles=tiles)
    api_config = Configuration(host=settings.LINE_API_BASE_URL, access_token=channel.access_token)
    data_config = Configuration(
        host=settings.LINE_DATA_API_BASE_URL, access_token=channel.access_token
    )
    try:
        with ApiClient(api_config) as client:
            menu_id = str(MessagingApi(client).create_rich_menu(request).rich_menu_id)
        with ApiClient(data_config) as client:
            MessagingApiBlob(client).set_rich_menu_image(
                menu_id, body=image, _headers={"Content-Type": "image/png"}
            )
        with ApiClient(api_config) as client:
            MessagingApi(client).set_default_rich_menu(menu_id)
    except (ApiException, OSError, ValueError) as exc:
        raise MessagingError(
            MessagingErrorCode.LINE_NOT_CONFIGURED,
            _("LINEにリッチメニューを登録できませんでした：%(detail)s")
            % {"detail": str(exc)[:200]},
        ) from exc
    audit_event(
        municipality=municipality,
        action="messaging.rich_menu_upload",
        actor=actor,
        object_type="line.richmenu",
        object_id=menu_id,
        data={"tiles": [t.label for t in tiles]},
    )
    return menu_id
