"""HTML forms: typed form classes validated with msgspec, model forms, file uploads
streamed to disk, and flash messages. See docs/topics/forms.md."""

from tidal.forms.fields import Field as Field
from tidal.forms.flash import FlashMessage as FlashMessage
from tidal.forms.flash import flash as flash
from tidal.forms.flash import get_flashed_messages as get_flashed_messages
from tidal.forms.forms import Form as Form
from tidal.forms.forms import Submitted as Submitted
from tidal.forms.forms import validator as validator
from tidal.forms.models import ModelForm as ModelForm
from tidal.forms.parsing import FormData as FormData
from tidal.forms.parsing import FormLimits as FormLimits
from tidal.forms.parsing import parse_form as parse_form
from tidal.forms.uploads import UploadedFile as UploadedFile
from tidal.forms.widgets import BoundField as BoundField

__all__ = [
    "BoundField",
    "Field",
    "FlashMessage",
    "Form",
    "FormData",
    "FormLimits",
    "ModelForm",
    "Submitted",
    "UploadedFile",
    "flash",
    "get_flashed_messages",
    "parse_form",
    "validator",
]
