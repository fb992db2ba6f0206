import { Component } from "react";

/**
 * Catches what its children throw while rendering (and rejected lazy loads) and renders
 * `fallback(error, reset)` instead, so one broken part never blanks the console.
 */
export class ErrorBoundary extends Component {
  state = { error: null };

  static getDerivedStateFromError(error) {
    return { error };
  }

  reset = () => {
    this.props.onReset?.();
    this.setState({ error: null });
  };

  render() {
    if (this.state.error) return this.props.fallback(this.state.error, this.reset);
    return this.props.children;
  }
}
