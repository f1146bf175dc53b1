"""The registered tools: the entry-point group ``iactcopy.tools``."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from iactcopy.app.toolfinder import ENTRY_POINT_GROUP, installed_tools, load_tool
from iactcopy.errors import InstallationError
from iactcopy.tools.csiactcopy import csiactcopy


def entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_iactcopy_registers_its_own_tools():
    tools = installed_tools()
    assert {"csiactdata", "csiactcopy", "csfindobs"} <= set(tools)
    assert tools["csiactcopy"].value == "iactcopy.tools.csiactcopy:csiactcopy"
    assert list(tools) == sorted(tools)


def test_load_tool():
    assert load_tool("csiactcopy") is csiactcopy
    assert load_tool("no-such-tool") is None


@pytest.mark.parametrize(("value", "words"), [
    ("nosuch.module:tool", ["cannot be loaded", "nosuch"]),
    ("iactcopy.tools.csiactcopy:nosuch", ["cannot be loaded", "nosuch"]),
    ("iactcopy.tools.csiactcopy:main", ["is not a tool class"]),
    ("iactcopy.tools.csiactdata:csiactdata", ['names the tool "csiactdata"']),
])
def test_a_bad_entry_point_is_an_installation_error(value, words):
    with pytest.raises(InstallationError) as caught:
        load_tool("mytool", entry("mytool", value))
    message = str(caught.value)
    assert f"mytool = {value} of group iactcopy.tools" in message
    for word in words:
        assert word in message
    assert caught.value.exit_status == 1
