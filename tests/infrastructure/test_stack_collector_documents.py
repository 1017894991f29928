"""The collector documents SendCommand runs are exactly the ones this stack deployed."""

from __future__ import annotations

import re
from typing import Any

from panic_button.logic.collection import COLLECTOR_DOCUMENT_VERSION
from stack_template import of_type


def test_collector_documents_are_replaced_under_a_content_name_so_version_1_is_what_was_deployed(
        template_json: dict[str, Any]) -> None:
    documents = [d for d in of_type(template_json["Resources"], "AWS::SSM::Document").values()
                 if "Collector" in d["Properties"].get("Name", "")]
    assert len(documents) == 2 and COLLECTOR_DOCUMENT_VERSION == "1"
    for document in documents:
        assert document["Properties"]["UpdateMethod"] == "Replace"
        assert re.fullmatch(r"PanicButton-Collector(Linux|Windows)-[0-9a-f]{16}", document["Properties"]["Name"])
