"""Export of the filtered order list (订单导出) as CSV for Excel or as XLSX."""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from payhub.api.deps import HubDep
from payhub.api.openapi_docs import SIGNED, Responses, error_responses
from payhub.counter.api.routes import OrderFilters
from payhub.kernel.services.order_numbers import CHINA
from payhub.counter.services.order_export import AMOUNT_COLUMNS, HEADERS, Cell, export_rows

router = APIRouter(prefix="/api/v1", tags=["counter"], responses=SIGNED)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES: Responses = {200: {"content": {"text/csv": {}, XLSX_TYPE: {}}, "description": "The file, as an attachment"}}
FILES |= error_responses(400)
CHUNK = 64 * 1024


async def as_csv(rows: AsyncIterator[tuple[Cell, ...]]) -> AsyncIterator[bytes]:
    """UTF-8 with a byte-order mark, so that Excel reads the Chinese right; sent a batch of rows at a time."""
    text = io.StringIO()
    writer = csv.writer(text)
    text.write("\ufeff")
    writer.writerow(HEADERS)
    async for row in rows:
        writer.writerow(row)
        if text.tell() > CHUNK:
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode()


async def as_xlsx(rows: AsyncIterator[tuple[Cell, ...]]) -> AsyncIterator[bytes]:
    """One sheet, amounts as numbers with two decimals; openpyxl's write-only mode keeps rows on disk, not in memory."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("订单")
    for column in AMOUNT_COLUMNS:
        sheet.column_dimensions[get_column_letter(column + 1)].width = 12
    for column in (1, 2, 3):
        sheet.column_dimensions[get_column_letter(column)].width = 24
    sheet.freeze_panes = "A2"
    sheet.append(HEADERS)
    async for row in rows:
        sheet.append([_cell(sheet, value, i) for i, value in enumerate(row)])
    with tempfile.TemporaryFile() as out:
        await anyio.to_thread.run_sync(book.save, out)
        out.seek(0)
        while chunk := await anyio.to_thread.run_sync(out.read, CHUNK):
            yield chunk


def _cell(sheet: WriteOnlyWorksheet, value: Cell, column: int) -> Cell | SheetCell:
    if column not in AMOUNT_COLUMNS or not isinstance(value, Decimal):
        return value
    cell = WriteOnlyCell(sheet, value=float(value))  # a spreadsheet holds numbers as doubles anyway
    cell.number_format = "0.00"
    return cell


@router.get("/orders/export", response_class=StreamingResponse, responses=FILES,
            summary="The filtered order list as CSV or XLSX (订单导出), streamed, with a totals row")
async def export_orders(
    hub: HubDep, query: OrderFilters, format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",  # noqa: A002
) -> StreamingResponse:
    rows = export_rows(hub=hub, query=query)
    name = f"订单_{hub.clock.now().astimezone(CHINA):%Y%m%d_%H%M%S}.{format}"
    disposition = f"attachment; filename=orders.{format}; filename*=UTF-8''{quote(name)}"
    if format == "xlsx":
        return StreamingResponse(as_xlsx(rows), media_type=XLSX_TYPE, headers={"Content-Disposition": disposition})
    return StreamingResponse(as_csv(rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": disposition})
