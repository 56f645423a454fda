"""What the data-linkage API keeps between calls: transfer files made for a client."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.fields import EncryptedTextField

__all__ = ["ClientTransferExport"]


class ClientTransferExport(models.Model):
    """A 全銀 file (or its checking CSV) made through the API, fetchable by the client that
    made it. The file holds names and bank accounts, so its bytes are kept encrypted."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    client = models.ForeignKey(
        "api.ApiClient", on_delete=models.CASCADE, related_name="transfer_exports"
    )
    procedure = models.ForeignKey(
        "procedures.Procedure", on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=40)
    format = models.CharField(max_length=10)  # "zengin" or "csv"
    transfer_date = models.DateField()
    filename = models.CharField(max_length=200)
    count = models.PositiveIntegerField()
    total = models.BigIntegerField()
    content = EncryptedTextField()  # base64 of the file's bytes, exactly as built
    # The applications in the file: each fetch leaves an access entry on every one.
    application_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("振込データ（API）")
        verbose_name_plural = _("振込データ（API）")

    def __str__(self) -> str:
        return self.filename
