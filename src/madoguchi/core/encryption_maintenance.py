"""Re-encryption of stored values under the newest field key."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Left

from madoguchi.core.crypto import PREFIX, keyring
from madoguchi.core.fields import BlindIndexField, EncryptedField


@dataclass(frozen=True, slots=True)
class ReencryptResult:
    model: str
    rows: int
    rewritten: int


def encrypted_models() -> list[
    tuple[type[models.Model], list[EncryptedField], list[BlindIndexField]]
]:
    """Every installed model with encrypted fields, with those fields and its blind indexes."""
    found = []
    for model in apps.get_models():
        encrypted = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
        if encrypted:
            blind = [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]
            found.append((model, encrypted, blind))
    return found


def reencrypt_all(
    *, batch_size: int = 500, dry_run: bool = False, reindex: bool = False
) -> list[ReencryptResult]:
    """Rewrite rows holding a value under an older key; each batch commits on its own.

    Safe to interrupt and to run again: rows already under the newest key are skipped, unless
    ``reindex`` asks for every row (to recompute blind indexes after their key changed).
    """
    current = f"{PREFIX}${keyring().current_id}$"
    results = []
    for model, encrypted, blind in encrypted_models():
        # Compared exactly: LIKE/startswith is case-insensitive on SQLite, and key ids are not.
        prefixes = {
            f"_prefix_{f.name}": Left(Cast(f.name, output_field=TextField()), len(current))
            for f in encrypted
        }
        stale = Q()
        for name in prefixes:
            stale |= Q(**{f"{name}__isnull": False}) & ~Q(**{name: current})
        manager = model._base_manager
        rows = manager.count()
        candidates = manager.all() if reindex else manager.annotate(**prefixes).filter(stale)
        pks = list(candidates.values_list("pk", flat=True))
        if not dry_run:
            names = [f.name for f in encrypted] + [f.name for f in blind]
            for start in range(0, len(pks), batch_size):
                with transaction.atomic():
                    batch = list(
                        manager.select_for_update().filter(pk__in=pks[start : start + batch_size])
                    )
                    for obj in batch:
                        for field in blind:
                            setattr(obj, field.attname, field.compute(getattr(obj, field.source)))
                    manager.bulk_update(batch, names)
        results.append(ReencryptResult(model._meta.label, rows, len(pks)))
    return results
