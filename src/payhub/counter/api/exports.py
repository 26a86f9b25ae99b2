"""Export of the filtered order list (订单导出) as CSV for Excel or as XLSX."""
from __future__ import annotations

import csv
import io
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from payhub.api.deps import HubDep
from payhub.api.openapi_docs import SIGNED, Responses, error_responses
from payhub.counter.api.routes import OrderFilters
from payhub.kernel.services.order_numbers import CHINA
from payhub.counter.services.order_export import AMOUNT_COLUMNS, HEADERS, Cell, export_rows

router = APIRouter(prefix="/api/v1", tags=["counter"], responses=SIGNED)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES: Responses = {200: {"content": {"text/csv": {}, XLSX_TYPE: {}}, "description": "The file, as an attachment"}}
FILES |= error_responses(400)


def as_csv(rows: list[tuple[Cell, ...]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads the Chinese right."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return "\ufeff".encode() + text.getvalue().encode()


def as_xlsx(rows: list[tuple[Cell, ...]]) -> bytes:
    """One sheet, amounts as numbers with two decimals."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook starts with one worksheet, active
    sheet.title = "订单"
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    for column in AMOUNT_COLUMNS:
        letter = get_column_letter(column + 1)
        for cell in sheet[letter][1:]:
            cell.number_format = "0.00"
        sheet.column_dimensions[letter].width = 12
    for column in (1, 2, 3):
        sheet.column_dimensions[get_column_letter(column)].width = 24
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@router.get("/orders/export", response_class=Response, responses=FILES,
            summary="The filtered order list as CSV or XLSX (订单导出)")
async def export_orders(
    hub: HubDep, query: OrderFilters, format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",  # noqa: A002
) -> Response:
    rows = await export_rows(hub=hub, query=query)
    name = f"订单_{hub.clock.now().astimezone(CHINA):%Y%m%d_%H%M%S}.{format}"
    disposition = f"attachment; filename=orders.{format}; filename*=UTF-8''{quote(name)}"
    if format == "xlsx":
        return Response(as_xlsx(rows), media_type=XLSX_TYPE, headers={"Content-Disposition": disposition})
    return Response(as_csv(rows), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
