"""Paper and bulk intake from CSV: applications keyed from paper forms, and bulk status updates.

:func:`applications_import_csv` imports one application per row. Every row is checked with the
same rules as the web form (:func:`~madoguchi.procedures.fieldtypes.validate_answers`) and
stored with channel ``paper``; a refused row is reported with its physical line number and never
stops the others. The idempotency key of a row is the SHA-256 of the procedure code and the
row's cleaned answers, so importing a file twice, or the same row in a later file, stores
nothing twice.

:func:`applications_bulk_status_csv` moves applications to new states (振込済み after a bank's
transfer results, ...): every row is checked first and the whole file is applied in one
transaction through the workflow, or nothing is.

Column names, encodings and the handling of attachments are described in docs/paper-intake.md.
"""

from madoguchi.procedures.intake.applications import PAPER_DOCUMENTS_KEY, applications_import_csv
from madoguchi.procedures.intake.bulk_status import TransitionService, applications_bulk_status_csv
from madoguchi.procedures.intake.reports import (
    CellError,
    FileError,
    ImportReport,
    IntakeErrorCode,
    RowError,
    StatusUpdateReport,
)

__all__ = [
    "PAPER_DOCUMENTS_KEY",
    "CellError",
    "FileError",
    "ImportReport",
    "IntakeErrorCode",
    "RowError",
    "StatusUpdateReport",
    "TransitionService",
    "applications_bulk_status_csv",
    "applications_import_csv",
]
