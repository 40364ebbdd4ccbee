/** The packetdrill script language: lexer, parser, AST, defines, options. */
export * from './ast.js';
export { ScriptError, type ScriptErrorKind } from './errors.js';
export { tokenize, Lexer, type Token, type TokenKind, KEYWORDS } from './lexer.js';
export { parseScript, checkTcpFlags, icmpTypeAndCode, type ParseOptions } from './parser.js';
export { parseDefine, parseDefines, substituteDefine, DefineError } from './defines.js';
export {
  PACKETDRILL_OPTIONS,
  validateScriptOptions,
  mergeOptions,
  effectiveOptions,
  scriptDefines,
  scriptIpVersion,
  parseIpVersion,
  settingDefines,
  type OptionSetting,
} from './options.js';
export { formatExpr, formatTime, formatSyscall } from './format.js';
export { inetAddr, inetPton4, inetPton6, formatIpv6 } from './inet.js';
