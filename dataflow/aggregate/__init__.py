"""The analysts' tables, computed from store-days of journeys: one module per table, each a pure function
of a `StoreDay` plus the named PTransform that applies it."""
