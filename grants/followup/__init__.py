"""After the grant (oppfølging): the grant record (tilsagn) made when a grant decision is released, the kommune's
acceptance or declining of it, and IMDi's overview of a round's grants. Sits on the decisions (.importlinter)."""
