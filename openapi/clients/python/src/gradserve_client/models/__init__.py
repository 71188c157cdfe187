"""Contains all the data models used in inputs/outputs"""

from .backward_call import BackwardCall
from .backward_request import BackwardRequest
from .backward_request_encoding import BackwardRequestEncoding
from .get_graph_format import GetGraphFormat
from .get_session_encoding import GetSessionEncoding
from .get_variable_encoding import GetVariableEncoding
from .grad_call import GradCall
from .grad_call_kind import GradCallKind
from .grad_request import GradRequest
from .grad_request_encoding import GradRequestEncoding
from .grads_response import GradsResponse
from .grads_response_grads import GradsResponseGrads
from .graph import Graph
from .graph_edge import GraphEdge
from .graph_node import GraphNode
from .graph_node_kind import GraphNodeKind
from .health import Health
from .health_status import HealthStatus
from .hessian_call import HessianCall
from .hessian_call_kind import HessianCallKind
from .hessian_request import HessianRequest
from .hessian_request_encoding import HessianRequestEncoding
from .hessian_response import HessianResponse
from .hessian_response_hessian import HessianResponseHessian
from .hessian_response_hessian_additional_property import HessianResponseHessianAdditionalProperty
from .hvp_call import HvpCall
from .hvp_call_kind import HvpCallKind
from .hvp_call_v import HvpCallV
from .hvp_request import HvpRequest
from .hvp_request_encoding import HvpRequestEncoding
from .hvp_request_v import HvpRequestV
from .hvp_response import HvpResponse
from .hvp_response_hvp import HvpResponseHvp
from .input_base_64 import InputBase64
from .input_base_64_dtype import InputBase64Dtype
from .input_data import InputData
from .input_data_dtype import InputDataDtype
from .jacobian_call import JacobianCall
from .jacobian_call_kind import JacobianCallKind
from .jacobian_request import JacobianRequest
from .jacobian_request_encoding import JacobianRequestEncoding
from .jacobian_response import JacobianResponse
from .jacobian_response_jacobian import JacobianResponseJacobian
from .jacobian_response_jacobian_additional_property import JacobianResponseJacobianAdditionalProperty
from .jvp_call import JvpCall
from .jvp_call_kind import JvpCallKind
from .jvp_call_tangents import JvpCallTangents
from .jvp_request import JvpRequest
from .jvp_request_encoding import JvpRequestEncoding
from .jvp_request_tangents import JvpRequestTangents
from .jvp_response import JvpResponse
from .jvp_response_jvp import JvpResponseJvp
from .kwarg_info import KwargInfo
from .non_finite import NonFinite
from .op_call import OpCall
from .op_call_kwargs import OpCallKwargs
from .op_info import OpInfo
from .op_info_arity_type_1 import OpInfoArityType1
from .ops_response import OpsResponse
from .optimizer import Optimizer
from .optimizer_hyperparameters import OptimizerHyperparameters
from .optimizer_request import OptimizerRequest
from .optimizer_request_type import OptimizerRequestType
from .optimizer_type import OptimizerType
from .problem import Problem
from .problem_item import ProblemItem
from .program import Program
from .program_encoding import ProgramEncoding
from .program_inputs import ProgramInputs
from .saved_buffer import SavedBuffer
from .session import Session
from .session_variables import SessionVariables
from .step_request import StepRequest
from .step_request_encoding import StepRequestEncoding
from .tensor_base_64 import TensorBase64
from .tensor_base_64_dtype import TensorBase64Dtype
from .tensor_data import TensorData
from .tensor_data_dtype import TensorDataDtype
from .tensor_value_type_4 import TensorValueType4
from .variable import Variable
from .variable_dtype import VariableDtype
from .variable_info import VariableInfo
from .variable_info_dtype import VariableInfoDtype
from .variables_response import VariablesResponse
from .variables_response_variables import VariablesResponseVariables

__all__ = (
    "BackwardCall",
    "BackwardRequest",
    "BackwardRequestEncoding",
    "GetGraphFormat",
    "GetSessionEncoding",
    "GetVariableEncoding",
    "GradCall",
    "GradCallKind",
    "GradRequest",
    "GradRequestEncoding",
    "GradsResponse",
    "GradsResponseGrads",
    "Graph",
    "GraphEdge",
    "GraphNode",
    "GraphNodeKind",
    "Health",
    "HealthStatus",
    "HessianCall",
    "HessianCallKind",
    "HessianRequest",
    "HessianRequestEncoding",
    "HessianResponse",
    "HessianResponseHessian",
    "HessianResponseHessianAdditionalProperty",
    "HvpCall",
    "HvpCallKind",
    "HvpCallV",
    "HvpRequest",
    "HvpRequestEncoding",
    "HvpRequestV",
    "HvpResponse",
    "HvpResponseHvp",
    "InputBase64",
    "InputBase64Dtype",
    "InputData",
    "InputDataDtype",
    "JacobianCall",
    "JacobianCallKind",
    "JacobianRequest",
    "JacobianRequestEncoding",
    "JacobianResponse",
    "JacobianResponseJacobian",
    "JacobianResponseJacobianAdditionalProperty",
    "JvpCall",
    "JvpCallKind",
    "JvpCallTangents",
    "JvpRequest",
    "JvpRequestEncoding",
    "JvpRequestTangents",
    "JvpResponse",
    "JvpResponseJvp",
    "KwargInfo",
    "NonFinite",
    "OpCall",
    "OpCallKwargs",
    "OpInfo",
    "OpInfoArityType1",
    "OpsResponse",
    "Optimizer",
    "OptimizerHyperparameters",
    "OptimizerRequest",
    "OptimizerRequestType",
    "OptimizerType",
    "Problem",
    "ProblemItem",
    "Program",
    "ProgramEncoding",
    "ProgramInputs",
    "SavedBuffer",
    "Session",
    "SessionVariables",
    "StepRequest",
    "StepRequestEncoding",
    "TensorBase64",
    "TensorBase64Dtype",
    "TensorData",
    "TensorDataDtype",
    "TensorValueType4",
    "Variable",
    "VariableDtype",
    "VariableInfo",
    "VariableInfoDtype",
    "VariablesResponse",
    "VariablesResponseVariables",
)
