"""trioagents: realtime voice AI agents for LiveKit rooms, on Trio.

Importing this package has no side effects and starts nothing: no event loop, no
thread, no socket. Heavy media dependencies (aiortc, av) are imported only by
``trioagents.rtc`` and the layers that need it.
"""

from .core import AgentHandoff as AgentHandoff
from .core import AudioFrame as AudioFrame
from .core import ChatContext as ChatContext
from .core import ChatMessage as ChatMessage
from .core import ConfigurationError as ConfigurationError
from .core import ContentFilterError as ContentFilterError
from .core import FunctionCall as FunctionCall
from .core import FunctionCallOutput as FunctionCallOutput
from .core import ProviderError as ProviderError
from .core import ToolError as ToolError
from .core import TrioAgentsError as TrioAgentsError

__all__ = [
    "AgentHandoff",
    "AudioFrame",
    "ChatContext",
    "ChatMessage",
    "ConfigurationError",
    "ContentFilterError",
    "FunctionCall",
    "FunctionCallOutput",
    "ProviderError",
    "ToolError",
    "TrioAgentsError",
]
