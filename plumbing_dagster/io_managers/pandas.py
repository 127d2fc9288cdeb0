"""pandas support for both warehouse IO managers: DataFrames go through their Arrow handler."""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice


class PandasViaArrowHandler(DbTypeHandler[pd.DataFrame]):
    """Writes a DataFrame as Arrow (by column name, index dropped) and reads back via Arrow."""

    def __init__(self, arrow_handler: DbTypeHandler[pa.Table]):
        self.arrow_handler = arrow_handler

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection: Any
    ) -> Mapping[str, Any] | None:
        table = pa.Table.from_pandas(obj, preserve_index=False)
        return self.arrow_handler.handle_output(context, table_slice, table, connection)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> pd.DataFrame:
        return self.arrow_handler.load_input(context, table_slice, connection).to_pandas()

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pd.DataFrame]
