import { Component } from "react";

/**
 * Catches what its children throw while rendering (and rejected lazy loads) and renders
 * `fallback(error)` instead, so one broken part never blanks the console.
 */
export class ErrorBoundary extends Component {
  state = { error: null };

  static getDerivedStateFromError(error) {
    return { error };
  }

  render() {
    if (this.state.error) return this.props.fallback(this.state.error);
    return this.props.children;
  }
}
