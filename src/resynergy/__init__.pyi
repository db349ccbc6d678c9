# Types of the public API for editors and type checkers: the package's __init__.py resolves
# these names on first use (module __getattr__), so that `import resynergy` stays cheap.
from resynergy.api import Comparison as Comparison
from resynergy.api import actual_flows as actual_flows
from resynergy.api import builtin_scenarios as builtin_scenarios
from resynergy.api import compare as compare
from resynergy.api import evaluate as evaluate
from resynergy.api import indicator_table as indicator_table
from resynergy.api import modify as modify
from resynergy.api import monitor_flows as monitor_flows
from resynergy.api import open_scenario as open_scenario
from resynergy.api import plan as plan
from resynergy.api import variant as variant
from resynergy.api import write_outputs as write_outputs
from resynergy.monitor.track import Monitor as Monitor
from resynergy.planner.options import PlanOptions as PlanOptions
from resynergy.planner.plan import Plan as Plan
from resynergy.report.findings import PlanFindings as PlanFindings
from resynergy.scenario.model import Scenario as Scenario
from resynergy.schema.issues import ScenarioError as ScenarioError
from resynergy.states import PlanStatus as PlanStatus
from resynergy.states import TargetStatus as TargetStatus

__version__: str
__all__: list[str]
