"""The trip: prepare (the day before), finalize (departure morning), return (afterwards).

`state` keeps trip.json (idle → prepared → finalized → returned, plus any step in
progress); one module per step; `report` shapes their JSON; `status` summarises it all.
"""
