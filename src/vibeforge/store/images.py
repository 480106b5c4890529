"""The images outbox rows carry (table `publication_images`), and the posts they went out with.

The outbox keeps a publication's image in the transaction that moves the row to `sent`
(`save_image`) and sends what is kept (`image_of`), so a retry after a crash sends the same
picture; the dashboard finds a post's image through the row that published it. Like every
query function these take a `Session` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vibeforge.domain import Image
from vibeforge.store.tables import PublicationImageRow, PublicationRow


@dataclass(frozen=True, slots=True, kw_only=True)
class PostImage:
    """That a post carried an image, and what a page shows of it (not its bytes)."""

    post_id: str
    mime: str
    alt: str
    size: int  # bytes


def save_image(session: Session, *, idempotency_key: str, image: Image) -> None:
    """Keep the image of an outbox row (replacing one kept before)."""
    session.merge(
        PublicationImageRow(
            idempotency_key=idempotency_key, mime=image.mime, alt=image.alt, data=image.data
        )
    )


def image_of(session: Session, *, idempotency_key: str) -> Image | None:
    """The image kept for an outbox row, if any."""
    row = session.get(PublicationImageRow, idempotency_key)
    return None if row is None else Image(data=bytes(row.data), mime=row.mime, alt=row.alt)


def post_images(session: Session, *, bot: str, post_ids: Sequence[str]) -> dict[str, PostImage]:
    """The images `bot`'s posts among `post_ids` went out with, by post id (posts without
    one are left out)."""
    ids = list(dict.fromkeys(post_ids))
    out: dict[str, PostImage] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(
                PublicationRow.platform_post_id,
                PublicationImageRow.mime,
                PublicationImageRow.alt,
                func.length(PublicationImageRow.data),
            )
            .join(
                PublicationImageRow,
                PublicationImageRow.idempotency_key == PublicationRow.idempotency_key,
            )
            .where(
                PublicationRow.bot == bot,
                PublicationRow.platform_post_id.in_(ids[start : start + 500]),
            )
        )
        for post_id, mime, alt, size in rows:
            out[post_id] = PostImage(post_id=post_id, mime=mime, alt=alt, size=int(size or 0))
    return out


def post_image(session: Session, *, bot: str, post_id: str) -> Image | None:
    """The image `bot`'s post `post_id` went out with, bytes included, if it had one."""
    row = session.scalars(
        select(PublicationImageRow)
        .join(
            PublicationRow,
            PublicationRow.idempotency_key == PublicationImageRow.idempotency_key,
        )
        .where(PublicationRow.bot == bot, PublicationRow.platform_post_id == post_id)
        .limit(1)
    ).first()
    return None if row is None else Image(data=bytes(row.data), mime=row.mime, alt=row.alt)
